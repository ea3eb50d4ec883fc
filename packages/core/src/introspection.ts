/**
 * RFC 7662 token introspection and its answer cache. `active: true` answers come back as claims
 * for the same policy as a JWT; `active: false` is `token_inactive`; any other answer, status or
 * network failure is `upstream_unavailable` and is never cached.
 *
 * Cache: an LRU keyed by (endpoint, client id, SHA-256 of the token), one request in flight per
 * key (lru-cache's fetchMethod), entries living min(ttlSeconds, exp − now); optionally a shared
 * store behind it whose failures only cost a direct introspection.
 */
import { hash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { ClientAuthentication, introspectionAuthOption } from './client-auth.js'
import { TokenwardError } from './errors.js'
import {
  fail,
  httpsUrl,
  isObject,
  numberInRange,
  optionNames,
  refuseUnknownOptions,
} from './option-values.js'
import { hashToken } from './token.js'
import type { CacheStore, Claims, IntrospectionAuth, IntrospectionOptions } from './types.js'
import {
  Backoff,
  UpstreamFailure,
  reportFailure,
  requestJson,
  unavailable,
  type UpstreamContext,
} from './upstream.js'

/** Introspection settings after checking. */
export interface IntrospectionConfig {
  readonly endpoint: string | undefined
  readonly auth: IntrospectionAuth
  readonly mode: 'opaque' | 'always'
  readonly timeoutMs: number
  readonly audienceOptional: boolean
  readonly cacheMax: number
  readonly ttlSeconds: number
  readonly negativeTtlSeconds: number
  readonly store: CacheStore | undefined
}

const INTROSPECTION_OPTIONS = optionNames<IntrospectionOptions>({
  endpoint: true,
  auth: true,
  mode: true,
  timeoutMs: true,
  audienceOptional: true,
  cache: true,
})
const CACHE_OPTIONS = optionNames<NonNullable<IntrospectionOptions['cache']>>({
  max: true,
  ttlSeconds: true,
  negativeTtlSeconds: true,
  store: true,
})

/* eslint-disable @typescript-eslint/no-unnecessary-condition --
   Options come from JavaScript callers and JSON files too: these checks run against values the
   types already forbid. */
/** The checked `introspection` option; `single`: one issuer (an endpoint may be configured). */
export function introspectionOption(
  intro: IntrospectionOptions | undefined,
  single: boolean,
): IntrospectionConfig | undefined {
  if (intro === undefined) return undefined
  if (!isObject(intro))
    fail('introspection', 'must be an object { auth, endpoint?, mode?, timeoutMs?, cache? }')
  refuseUnknownOptions('introspection', INTROSPECTION_OPTIONS, intro)
  if (intro.endpoint !== undefined) {
    if (!single)
      fail(
        'introspection.endpoint',
        'is allowed only with a single issuer; several issuers use their own discovery',
      )
    httpsUrl(
      intro.endpoint,
      'introspection.endpoint',
      'https://acme.zitadel.cloud/oauth/v2/introspect',
    )
  }
  const mode = intro.mode ?? 'opaque'
  if (mode !== 'opaque' && mode !== 'always')
    fail('introspection.mode', `must be 'opaque' or 'always'; got ${String(mode)}`)
  if (intro.audienceOptional !== undefined && typeof intro.audienceOptional !== 'boolean') {
    fail('introspection.audienceOptional', 'must be a boolean')
  }
  const cache = intro.cache ?? {}
  if (!isObject(cache))
    fail('introspection.cache', 'must be an object { max, ttlSeconds, negativeTtlSeconds, store }')
  refuseUnknownOptions('introspection.cache', CACHE_OPTIONS, cache)
  const store = cache.store as Partial<CacheStore> | undefined
  if (
    store !== undefined &&
    (!isObject(store) ||
      typeof store.get !== 'function' ||
      typeof store.set !== 'function' ||
      typeof store.delete !== 'function')
  ) {
    fail(
      'introspection.cache.store',
      'must implement get(key), set(key, value, ttlSeconds) and delete(key)',
    )
  }
  const ttlSeconds = numberInRange(cache.ttlSeconds, 'introspection.cache.ttlSeconds', 60, {
    min: 0,
    max: 86400,
  })
  return {
    endpoint: intro.endpoint,
    auth: introspectionAuthOption(intro.auth),
    mode,
    timeoutMs: numberInRange(intro.timeoutMs, 'introspection.timeoutMs', 5000, {
      min: 1,
      max: 120_000,
      integer: true,
    }),
    audienceOptional: intro.audienceOptional === true,
    cacheMax: numberInRange(cache.max, 'introspection.cache.max', 10_000, {
      min: 1,
      max: 10_000_000,
      integer: true,
    }),
    ttlSeconds,
    negativeTtlSeconds: numberInRange(
      cache.negativeTtlSeconds,
      'introspection.cache.negativeTtlSeconds',
      Math.min(10, ttlSeconds),
      { min: 0, max: 3600 },
    ),
    store: store as CacheStore | undefined,
  }
}

/* eslint-enable @typescript-eslint/no-unnecessary-condition */

/** What is cached: the answer, never the token or a decision. */
interface Answer {
  readonly active: boolean
  readonly claims?: Claims
  /** Epoch ms after which the entry must not be used (for the shared store). */
  readonly until: number
}

/** What a cache miss needs to introspect: the key alone is a hash. */
interface LoadContext {
  readonly token: string
  readonly endpoint: string
  readonly issuer: string
}

export class Introspector {
  readonly #cache: LRUCache<string, Answer, LoadContext>
  readonly #backoff: Backoff
  readonly #client: ClientAuthentication
  /** Per endpoint (a handful: one per issuer), the hashed (endpoint, client id) key prefix. */
  readonly #keyPrefixes = new Map<string, string>()

  constructor(
    private readonly config: IntrospectionConfig,
    private readonly context: UpstreamContext,
  ) {
    this.#backoff = new Backoff(context.backoff.minMs, context.backoff.maxMs)
    this.#client = new ClientAuthentication(config.auth)
    this.#cache = new LRUCache<string, Answer, LoadContext>({
      max: config.cacheMax,
      fetchMethod: (key, _stale, { options, context }) => this.#load(key, context, options),
    })
  }

  /**
   * The active answer's claims; throws `token_inactive` or `upstream_unavailable`. Synchronous on
   * a cache hit: a promise only when the answer must be fetched.
   */
  introspect(token: string, endpoint: string, issuer: string): Claims | Promise<Claims> {
    const key = this.#key(endpoint, token)
    // A hit needs none of fetch()'s machinery; a miss goes through it (one request per key).
    const answer = this.#cache.get(key)
    this.context.onEvent?.(answer === undefined ? CACHE_MISS : CACHE_HIT)
    if (answer !== undefined) return this.#claims(answer)
    return this.#cache
      .fetch(key, { context: { token, endpoint, issuer } })
      .then((fetched) => this.#claims(fetched))
  }

  #claims(answer: Answer | undefined): Claims {
    if (answer === undefined) throw unavailable(this.#backoff)
    if (!answer.active) throw new TokenwardError('token_inactive')
    return answer.claims ?? {}
  }

  /** Forgets the answers about `token` from each endpoint, in memory and in the shared store. */
  async invalidate(token: string, endpoints: Iterable<string>): Promise<void> {
    for (const endpoint of endpoints) {
      const key = this.#key(endpoint, token)
      this.#cache.delete(key)
      await this.config.store?.delete(key).catch((error: unknown) => {
        this.#storeFailed('delete', error)
      })
    }
  }

  /** Empties the in-memory cache. A shared store belongs to whoever created it: not closed here. */
  close(): void {
    this.#cache.clear()
  }

  /** (endpoint, client id, SHA-256 of the token): the answer depends on who asks (RFC 7662 §2.1). */
  #key(endpoint: string, token: string): string {
    let prefix = this.#keyPrefixes.get(endpoint)
    if (prefix === undefined) {
      prefix = hash('sha256', `${endpoint}\n${this.#client.clientId}`, 'base64url').slice(0, 16)
      this.#keyPrefixes.set(endpoint, prefix)
    }
    return `introspection:${prefix}:${hashToken(token)}`
  }

  async #load(
    key: string,
    { token, endpoint, issuer }: LoadContext,
    options: LRUCache.FetcherFetchOptions<string, Answer, LoadContext>,
  ): Promise<Answer> {
    const stored = await this.#fromStore(key)
    if (stored !== undefined) {
      options.ttl = Math.max(1, stored.until - Date.now())
      return stored
    }
    const answer = await this.#request(endpoint, token, issuer)
    const ttlMs = Math.max(1, answer.until - Date.now())
    options.ttl = ttlMs
    if (this.config.store !== undefined && ttlMs >= 1000) {
      // Not awaited: a slow store must not delay the answer it would only cache.
      this.config.store
        .set(key, JSON.stringify(answer), Math.floor(ttlMs / 1000))
        .catch((error: unknown) => {
          this.#storeFailed('set', error)
        })
    }
    return answer
  }

  async #fromStore(key: string): Promise<Answer | undefined> {
    const store = this.config.store
    if (store === undefined) return undefined
    try {
      const value = await store.get(key)
      // A store may answer null for a missing key, whatever its type says.
      if (value === undefined || (value as unknown) === null) return undefined
      const answer = JSON.parse(value) as Answer
      return typeof answer.until === 'number' && answer.until > Date.now() ? answer : undefined
    } catch (error) {
      // A store outage costs a direct introspection, never a rejected token.
      this.#storeFailed('get', error)
      return undefined
    }
  }

  #storeFailed(operation: string, error: unknown): void {
    this.context.logger?.warn(
      `tokenward: introspection cache store ${operation} failed; introspecting directly`,
      {
        error: error instanceof Error ? error.message : String(error),
      },
    )
  }

  async #request(endpoint: string, token: string, issuer: string): Promise<Answer> {
    if (this.#backoff.remainingSeconds() > 0) throw unavailable(this.#backoff)
    const body = new URLSearchParams({ token, token_type_hint: 'access_token' })
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    }
    await this.#client.apply(headers, body, issuer)
    try {
      const response = await requestJson(
        this.context.fetch,
        endpoint,
        { method: 'POST', headers, body: body.toString() },
        this.config.timeoutMs,
      )
      const answer = this.#answerOf(endpoint, response.status, response.json)
      this.#backoff.succeeded()
      return answer
    } catch (error) {
      this.#backoff.failed()
      const rejectedClient =
        error instanceof UpstreamFailure && (error.status === 400 || error.status === 401)
      // Bad client credentials are this server's misconfiguration: logged loudly, 503 to the caller.
      reportFailure(
        this.context,
        'introspection',
        endpoint,
        error,
        rejectedClient ? 'error' : 'warn',
      )
      throw unavailable(this.#backoff, error)
    }
  }

  /** What an answer means (RFC 7662 §2.2): only `active: true` or `active: false` are answers. */
  #answerOf(endpoint: string, status: number, json: unknown): Answer {
    if (status !== 200) {
      const error =
        typeof json === 'object' && json !== null ? (json as { error?: unknown }).error : undefined
      throw new UpstreamFailure(
        endpoint,
        `HTTP ${status}${typeof error === 'string' ? ` ${error}` : ''}`,
        { status },
      )
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new UpstreamFailure(endpoint, 'answer is not a JSON object')
    }
    const claims = json as Record<string, unknown>
    const now = Date.now()
    if (claims.active === false) {
      return { active: false, until: now + this.config.negativeTtlSeconds * 1000 }
    }
    if (claims.active !== true)
      throw new UpstreamFailure(endpoint, 'answer has no boolean "active"')
    let ttlMs = this.config.ttlSeconds * 1000
    if (typeof claims.exp === 'number' && Number.isFinite(claims.exp)) {
      // RFC 7662 §4: never cached beyond the token's expiry.
      ttlMs = Math.min(ttlMs, claims.exp * 1000 - now)
    }
    return { active: true, claims, until: now + Math.max(0, ttlMs) }
  }
}

const CACHE_HIT = Object.freeze({ type: 'cache_hit', cache: 'introspection' } as const)
const CACHE_MISS = Object.freeze({ type: 'cache_miss', cache: 'introspection' } as const)
