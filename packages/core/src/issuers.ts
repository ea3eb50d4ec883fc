/**
 * The issuers a validator trusts and, per issuer, where its keys and its introspection endpoint
 * are: configured, or found by its own discovery (OpenID Connect Discovery 1.0 §4), each fetched
 * on first use. With several issuers, each one's JWKS and endpoint come from its own discovery.
 */
import { LRUCache } from 'lru-cache'
import { Discovery } from './discovery.js'
import { TokenwardError } from './errors.js'
import { RemoteKeys, StaticKeys, type KeySource } from './keys.js'
import type { Config } from './options.js'
import type { UpstreamContext } from './upstream.js'

/** One issuer's discovery, key source and introspection endpoint. */
export class Issuer {
  readonly discovery: Discovery
  #keys: KeySource | undefined
  #introspectionEndpoint: string | undefined

  constructor(
    readonly issuer: string,
    private readonly config: Config,
    private readonly context: UpstreamContext,
  ) {
    this.discovery = new Discovery(issuer, context, config.discoveryTimeoutMs)
    if (config.staticKeys !== undefined) this.#keys = new StaticKeys(config.staticKeys)
    else if (config.jwksUri !== undefined) this.#keys = this.#remote(config.jwksUri)
    this.#introspectionEndpoint = config.introspection?.endpoint
  }

  /** The key source: at once when known (static, configured or discovered), else after discovery. */
  keys(): KeySource | Promise<KeySource> {
    return this.#keys ?? this.#discoverKeys()
  }

  async #discoverKeys(): Promise<KeySource> {
    const metadata = await this.discovery.get()
    if (metadata.jwks_uri === undefined) throw this.#missing('jwks_uri', 'jwksUri')
    this.#keys ??= this.#remote(metadata.jwks_uri)
    return this.#keys
  }

  /** The introspection endpoint: at once when known (configured or discovered), else after discovery. */
  introspectionEndpoint(): string | Promise<string> {
    return this.#introspectionEndpoint ?? this.#discoverEndpoint()
  }

  /** The endpoint if it is known yet (for invalidation: answers exist only from known endpoints). */
  get knownIntrospectionEndpoint(): string | undefined {
    return this.#introspectionEndpoint
  }

  async #discoverEndpoint(): Promise<string> {
    const metadata = await this.discovery.get()
    const endpoint = metadata.introspection_endpoint
    if (endpoint === undefined) {
      throw this.#missing('introspection_endpoint', 'introspection.endpoint')
    }
    this.#introspectionEndpoint = endpoint
    return endpoint
  }

  /** Fetches what requests will need: the keys, and the discovery document for introspection. */
  async warmUp(): Promise<void> {
    await (await this.keys()).warmUp()
    if (this.config.introspection !== undefined && this.#introspectionEndpoint === undefined) {
      await this.discovery.get()
    }
  }

  /** The issuer publishes no `member`: this server must be configured with `option`. */
  #missing(member: string, option: string): TokenwardError {
    this.context.logger?.error(`tokenward: the issuer metadata has no ${member}; set ${option}`, {
      issuer: this.issuer,
    })
    return new TokenwardError('upstream_unavailable', { retryAfterSeconds: 60 })
  }

  #remote(url: string): KeySource {
    return new RemoteKeys(url, this.context, this.config.jwks)
  }
}

/**
 * Every trusted issuer, by its exact `iss` value: the ones named in the options, and those a
 * template or a predicate admits, each created once its first token passed the issuer check and
 * kept in an LRU of `tenants.max`.
 */
export class Issuers {
  readonly #byName: ReadonlyMap<string, Issuer>
  readonly #open: LRUCache<string, Issuer> | undefined
  /** The first named issuer: the one an opaque token is introspected at. */
  readonly #first: Issuer | undefined

  constructor(
    private readonly config: Config,
    private readonly context: UpstreamContext,
  ) {
    this.#byName = new Map(
      config.issuers.map((issuer) => [issuer, new Issuer(issuer, config, context)]),
    )
    this.#open = config.issuer.open ? new LRUCache({ max: config.issuer.maxOpen }) : undefined
    const first = config.issuers[0]
    this.#first = first === undefined ? undefined : this.#byName.get(first)
  }

  /** The issuer opaque tokens are introspected at (options guarantee one where needed). */
  get first(): Issuer {
    return this.#first!
  }

  /** The issuer named `iss`, which passed the issuer check; `invalid_issuer` for any other. */
  get(iss: string): Issuer {
    const issuer = this.#byName.get(iss)
    if (issuer !== undefined) return issuer
    if (this.#open === undefined) throw new TokenwardError('invalid_issuer')
    let admitted = this.#open.get(iss)
    if (admitted === undefined) {
      admitted = new Issuer(iss, this.config, this.context)
      this.#open.set(iss, admitted)
    }
    return admitted
  }

  /** The named issuers, and those admitted so far. */
  all(): Iterable<Issuer> {
    return [...this.#byName.values(), ...(this.#open?.values() ?? [])]
  }

  /** The introspection endpoints known so far. */
  *knownIntrospectionEndpoints(): Iterable<string> {
    const seen = new Set<string>()
    for (const issuer of this.#byName.values()) {
      const endpoint = issuer.knownIntrospectionEndpoint
      if (endpoint !== undefined && !seen.has(endpoint)) {
        seen.add(endpoint)
        yield endpoint
      }
    }
  }
}
