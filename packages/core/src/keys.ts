/**
 * Signing keys of one issuer. jose's remote JWK set does the work (cooldown on unknown `kid`,
 * one fetch in flight, timeout); this wrapper adds the back-off after a failed fetch and keeps
 * the last good set so known `kid`s keep validating through a JWKS outage.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  jwksCache,
  type ExportedJWKSCache,
  type JSONWebKeySet,
  type JWK,
  type JWSHeaderParameters,
} from 'jose'
import { TokenwardError } from './errors.js'
import { identityOf, keySetFetch, thumbprintInput } from './key-identity.js'
import { Backoff, reportFailure, unavailable, type UpstreamContext } from './upstream.js'

type LocalSet = ReturnType<typeof createLocalJWKSet>

/** The key a token header asks for (what jose's key sets resolve to). */
export type VerificationKey = Awaited<ReturnType<LocalSet>>

/** A source of verification keys for one issuer. */
export interface KeySource {
  /** The key for this header; synchronous when jose already chose it for the current set. */
  getKey(header: JWSHeaderParameters): VerificationKey | Promise<VerificationKey>
  /** Fetches the set ahead of traffic; rejects with `upstream_unavailable`. */
  warmUp(): Promise<void>
  /**
   * Whether the current set still holds `key`, one this source gave (a cached verdict stands
   * only while it does). Keys are compared by their RFC 7638 thumbprint input, so a verdict on a
   * token without `kid` is tied to its key too.
   */
  holds(key: VerificationKey): boolean
}

const NO_TOKEN = { payload: '', signature: '' }

/**
 * jose's answer when the set has no single key for the header (by code): `unknown_key`.
 * Any other failure (a set or key that cannot be imported) is the issuer's, not the token's.
 */
function keyError(error: unknown): TokenwardError | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS'
    ? new TokenwardError('unknown_key', { cause: error })
    : undefined
}

/**
 * jose's choices of key by (alg, kid), for one snapshot of the set: the same header against the
 * same set selects the same key, so asking jose again only costs time. A new set starts afresh.
 */
class Chosen {
  #snapshot: unknown
  #keys = new Map<string, VerificationKey>()

  get(snapshot: unknown, header: JWSHeaderParameters): VerificationKey | undefined {
    const key = choiceKey(header)
    return snapshot === this.#snapshot && key !== undefined ? this.#keys.get(key) : undefined
  }

  remember(snapshot: unknown, header: JWSHeaderParameters, chosen: VerificationKey): void {
    const key = choiceKey(header)
    if (key === undefined) return
    if (snapshot !== this.#snapshot) {
      this.#snapshot = snapshot
      this.#keys = new Map()
    }
    this.#keys.set(key, chosen)
  }
}

/** An absent `kid`, an empty one and any string differ; a `kid` of another type is never remembered. */
function choiceKey(header: JWSHeaderParameters): string | undefined {
  const { alg, kid } = header as { alg?: unknown; kid?: unknown }
  if (typeof alg !== 'string' || (kid !== undefined && typeof kid !== 'string')) return undefined
  return kid === undefined ? `${alg}\u0001` : `${alg}\u0000${kid}`
}

/** A fixed key set given in the options. */
export class StaticKeys implements KeySource {
  readonly #set: LocalSet

  constructor(keys: readonly JWK[]) {
    this.#set = createLocalJWKSet({ keys: [...keys] })
  }

  readonly #chosen = new Chosen()

  getKey(header: JWSHeaderParameters): VerificationKey | Promise<VerificationKey> {
    return this.#chosen.get(this.#set, header) ?? this.#choose(header)
  }

  async #choose(header: JWSHeaderParameters): Promise<VerificationKey> {
    try {
      const key = await this.#set(header, NO_TOKEN)
      this.#chosen.remember(this.#set, header, key)
      return key
    } catch (error) {
      // Every key was imported at creation (options.ts), so the set can only lack this one.
      throw keyError(error) ?? new TokenwardError('unknown_key', { cause: error })
    }
  }

  warmUp(): Promise<void> {
    return Promise.resolve()
  }

  /** A static set never changes. */
  holds(): boolean {
    return true
  }
}

export interface RemoteKeysOptions {
  readonly timeoutMs: number
  readonly cooldownMs: number
  readonly cacheMaxAgeMs: number
  readonly staleIfErrorMs: number
}

/** Keys fetched from a JWKS URL. */
export class RemoteKeys implements KeySource {
  readonly #remote: ReturnType<typeof createRemoteJWKSet>
  /** jose writes the last good set and its time here after every successful fetch. */
  readonly #cache: ExportedJWKSCache | Record<string, never> = {}
  readonly #backoff: Backoff
  #stale: { readonly jwks: JSONWebKeySet; readonly set: LocalSet } | undefined

  constructor(
    readonly url: string,
    private readonly context: UpstreamContext,
    private readonly options: RemoteKeysOptions,
  ) {
    this.#backoff = new Backoff(context.backoff.minMs, context.backoff.maxMs)
    this.#remote = createRemoteJWKSet(new URL(url), {
      timeoutDuration: options.timeoutMs,
      cooldownDuration: options.cooldownMs,
      cacheMaxAge: options.cacheMaxAgeMs,
      [customFetch]: keySetFetch(context, url),
      [jwksCache]: this.#cache,
    })
  }

  readonly #chosen = new Chosen()

  getKey(header: JWSHeaderParameters): VerificationKey | Promise<VerificationKey> {
    // While the set is fresh, a (alg, kid) jose chose before needs no trip through jose.
    const known = this.#remote.fresh ? this.#chosen.get(this.#cache.jwks, header) : undefined
    return known ?? this.#choose(header)
  }

  async #choose(header: JWSHeaderParameters): Promise<VerificationKey> {
    if (this.#backoff.remainingSeconds() > 0) return this.#fromStale(header, undefined)
    try {
      const key = await this.#remote(header, NO_TOKEN)
      this.#backoff.succeeded()
      this.#chosen.remember(this.#cache.jwks, header, key)
      return key
    } catch (error) {
      const mapped = keyError(error)
      if (mapped !== undefined) {
        this.#backoff.succeeded()
        throw mapped
      }
      this.#failed(error)
      return this.#fromStale(header, error)
    }
  }

  /**
   * Whether the current set still holds `key` (for cached verdicts). A set past its max age is
   * refreshed in the background, so a key removed from the JWKS is noticed without a new token.
   */
  holds(key: VerificationKey): boolean {
    if (!this.#remote.fresh && !this.#remote.reloading && this.#backoff.remainingSeconds() === 0) {
      this.#remote.reload().then(
        () => {
          this.#backoff.succeeded()
        },
        (error: unknown) => {
          this.#failed(error)
        },
      )
    }
    const jwks = (this.#cache as Partial<ExportedJWKSCache>).jwks
    let known = this.#held
    if (known === undefined || known.jwks !== jwks) {
      known = { jwks, keys: new Set(jwks?.keys.map(thumbprintInput)) }
      this.#held = known
    }
    const identity = identityOf(key)
    return identity !== undefined && known.keys.has(identity)
  }

  /** The thumbprint inputs of the current set's keys. */
  #held:
    | { readonly jwks: JSONWebKeySet | undefined; readonly keys: ReadonlySet<string | undefined> }
    | undefined

  async warmUp(): Promise<void> {
    try {
      await this.#remote.reload()
      this.#backoff.succeeded()
    } catch (error) {
      this.#failed(error)
      throw unavailable(this.#backoff, error)
    }
  }

  #failed(error: unknown): void {
    reportFailure(this.context, this.#backoff, 'jwks', this.url, error)
  }

  /** The last good set, while it is younger than cacheMaxAge + staleIfError. */
  async #fromStale(header: JWSHeaderParameters, cause: unknown): Promise<VerificationKey> {
    const { uat, jwks } = this.#cache as Partial<ExportedJWKSCache>
    const usable =
      uat !== undefined &&
      jwks !== undefined &&
      Date.now() < uat + this.options.cacheMaxAgeMs + this.options.staleIfErrorMs
    if (!usable) throw unavailable(this.#backoff, cause)
    if (this.#stale?.jwks !== jwks) this.#stale = { jwks, set: createLocalJWKSet(jwks) }
    try {
      const key = await this.#stale.set(header, NO_TOKEN)
      this.context.onEvent?.({ type: 'stale_keys_used', url: this.url })
      return key
    } catch {
      // A kid the last good set does not know may be a new key we cannot fetch now, and a key
      // that cannot be imported is the issuer's fault: both are a 503.
      throw unavailable(this.#backoff, cause)
    }
  }
}
