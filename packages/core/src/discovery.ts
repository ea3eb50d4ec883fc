/**
 * OpenID Connect discovery (RFC 8414 well-known as fallback), fetched lazily, once, with one
 * request in flight. A failure is not remembered: after the back-off the next request retries.
 */
import {
  Backoff,
  UpstreamFailure,
  reportFailure,
  requestJson,
  unavailable,
  upstreamText,
  type UpstreamContext,
} from './upstream.js'

/** The members of the issuer metadata tokenward uses. */
export interface IssuerMetadata {
  readonly issuer: string
  readonly jwks_uri?: string
  readonly introspection_endpoint?: string
}

export class Discovery {
  readonly #backoff: Backoff
  #metadata: IssuerMetadata | undefined
  #pending: Promise<IssuerMetadata> | undefined

  constructor(
    readonly issuer: string,
    private readonly context: UpstreamContext,
    private readonly timeoutMs: number,
  ) {
    this.#backoff = new Backoff(context.backoff.minMs, context.backoff.maxMs)
  }

  /** The metadata, fetched on first use; rejects with `upstream_unavailable`. */
  get(): Promise<IssuerMetadata> {
    if (this.#metadata !== undefined) return Promise.resolve(this.#metadata)
    if (this.#backoff.remainingSeconds() > 0) return Promise.reject(unavailable(this.#backoff))
    this.#pending ??= this.#fetch().finally(() => {
      this.#pending = undefined
    })
    return this.#pending
  }

  async #fetch(): Promise<IssuerMetadata> {
    // OIDC Discovery §4.1: a terminating "/" of the issuer is removed before appending.
    let url = `${this.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`
    try {
      let response = await requestJson(
        this.context,
        'discovery',
        url,
        { method: 'GET', headers: ACCEPT },
        this.timeoutMs,
      ).catch((error: unknown) => {
        if (error instanceof UpstreamFailure && error.status === 404) return undefined
        throw error
      })
      if (response === undefined || response.status === 404) {
        url = rfc8414Url(this.issuer)
        response = await requestJson(
          this.context,
          'discovery',
          url,
          { method: 'GET', headers: ACCEPT },
          this.timeoutMs,
        )
      }
      if (response.status !== 200) throw new UpstreamFailure(url, `HTTP ${response.status}`)
      const metadata = this.#check(url, response.json)
      this.#metadata = metadata
      this.#backoff.succeeded()
      return metadata
    } catch (error) {
      const misconfigured = error instanceof UpstreamFailure && error.misconfigured
      const level = misconfigured ? 'error' : 'warn'
      reportFailure(this.context, this.#backoff, 'discovery', url, error, level)
      throw unavailable(this.#backoff, error)
    }
  }

  #check(url: string, json: unknown): IssuerMetadata {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new UpstreamFailure(url, 'metadata is not a JSON object')
    }
    const metadata = json as Record<string, unknown>
    if (metadata.issuer !== this.issuer) {
      // OIDC Discovery §4.3: a document for another issuer must not be trusted.
      throw new UpstreamFailure(
        url,
        `issuer in the metadata (${upstreamText(JSON.stringify(metadata.issuer))}) differs from the configured ${JSON.stringify(this.issuer)}${slashOnly(metadata.issuer, this.issuer) ? " only by a trailing slash: set issuer to the metadata's, exactly" : ''}`,
        { misconfigured: true },
      )
    }
    for (const member of ['jwks_uri', 'introspection_endpoint'] as const) {
      if (metadata[member] !== undefined && typeof metadata[member] !== 'string') {
        throw new UpstreamFailure(url, `metadata member ${member} is not a string`)
      }
    }
    return metadata as unknown as IssuerMetadata
  }
}

const ACCEPT = { accept: 'application/json' }

/** RFC 8414 §3.1: the well-known suffix goes between the host and the issuer's path. */
function rfc8414Url(issuer: string): string {
  const parsed = new URL(issuer)
  const path = parsed.pathname.replace(/\/$/, '')
  return `${parsed.origin}/.well-known/oauth-authorization-server${path}`
}

/** Two issuer identifiers that differ only by a trailing slash (a configuration typo). */
function slashOnly(found: unknown, configured: string): boolean {
  return (
    typeof found === 'string' &&
    found !== configured &&
    found.replace(/\/$/, '') === configured.replace(/\/$/, '')
  )
}
