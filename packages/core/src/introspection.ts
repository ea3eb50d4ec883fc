/**
 * RFC 7662 token introspection and its cache. `active: true` answers come back as claims for the
 * same policy as a JWT; `active: false` is `token_inactive`; any other answer, status or network
 * failure is `upstream_unavailable` and is never cached.
 *
 * Cache: an LRU keyed by (endpoint, client id, SHA-256 of the token), one request in flight per
 * key (lru-cache's fetchMethod), entries living min(ttlSeconds, exp − now); optionally a shared
 * store behind it whose failures only cost a direct introspection.
 */
import { createPrivateKey, hash, randomUUID, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { SignJWT } from 'jose'
import { LRUCache } from 'lru-cache'
import type { Discovery } from './discovery.js'
import { ConfigurationError, TokenwardError } from './errors.js'
import { checkKeyFile, type IntrospectionConfig } from './options.js'
import { hashToken } from './token.js'
import type { Claims } from './types.js'
import {
  Backoff,
  UpstreamFailure,
  reportFailure,
  requestJson,
  unavailable,
  type UpstreamContext,
} from './upstream.js'

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

/** `application/x-www-form-urlencoded` serialisation (WHATWG), as RFC 6749 §2.3.1 requires. */
export function formUrlEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2)
}

/** RFC 6749 §2.3.1 client_secret_basic: both parts form-url-encoded before base64. */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  const pair = `${formUrlEncode(clientId)}:${formUrlEncode(clientSecret)}`
  return `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`
}

interface SigningKey {
  readonly key: KeyObject
  readonly alg: 'RS256' | 'ES256' | 'EdDSA'
  readonly keyId: string
  readonly clientId: string
}

/** R-I3: reads a ZITADEL key file (path or parsed) once, at construction. */
function loadSigningKey(
  keyFile: IntrospectionConfig['auth'] & { method: 'private_key_jwt' },
): SigningKey {
  const option = 'introspection.auth.keyFile'
  let parsed: unknown = keyFile.keyFile
  if (typeof parsed === 'string') {
    try {
      parsed = JSON.parse(readFileSync(parsed, 'utf8'))
    } catch (error) {
      throw new ConfigurationError(
        option,
        `could not be read as a JSON key file (${(error as Error).message})`,
      )
    }
  }
  const file = checkKeyFile(parsed, option)
  let key: KeyObject
  try {
    key = createPrivateKey(file.key)
  } catch {
    throw new ConfigurationError(`${option}.key`, 'is not a PKCS#1 or PKCS#8 PEM private key')
  }
  const type = key.asymmetricKeyType
  const alg =
    type === 'rsa' ? 'RS256' : type === 'ec' ? 'ES256' : type === 'ed25519' ? 'EdDSA' : undefined
  if (
    alg === undefined ||
    (type === 'ec' && key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
  ) {
    throw new ConfigurationError(`${option}.key`, 'must be an RSA, P-256 or Ed25519 private key')
  }
  const clientId = (file.type === 'application' ? file.clientId : file.userId)!
  return { key, alg, keyId: file.keyId, clientId }
}

export class Introspector {
  readonly #cache: LRUCache<string, Answer, LoadContext>
  readonly #backoff: Backoff
  readonly #signingKey: SigningKey | undefined
  readonly #clientId: string

  constructor(
    private readonly config: IntrospectionConfig,
    private readonly context: UpstreamContext,
    private readonly discoveryOf: (issuer: string) => Discovery,
  ) {
    this.#backoff = new Backoff(context.backoff.minMs, context.backoff.maxMs)
    const auth = config.auth
    this.#signingKey = auth.method === 'private_key_jwt' ? loadSigningKey(auth) : undefined
    this.#clientId = auth.method === 'private_key_jwt' ? this.#signingKey!.clientId : auth.clientId
    this.#cache = new LRUCache<string, Answer, LoadContext>({
      max: config.cacheMax,
      fetchMethod: (key, _stale, { options, context }) => this.#load(key, context, options),
    })
  }

  /**
   * The active answer's claims; throws `token_inactive` or `upstream_unavailable`. Synchronous on
   * a cache hit: a promise only when the endpoint or the answer must be fetched.
   */
  introspect(token: string, issuer: string): Claims | Promise<Claims> {
    const endpoint = this.config.endpoint ?? this.#discovered.get(issuer)
    return endpoint === undefined
      ? this.#endpoint(issuer).then((found) => this.#introspectAt(found, token, issuer))
      : this.#introspectAt(endpoint, token, issuer)
  }

  #introspectAt(endpoint: string, token: string, issuer: string): Claims | Promise<Claims> {
    const key = this.#key(endpoint, token)
    // A hit needs none of fetch()'s machinery; a miss goes through it (one request per key).
    const answer = this.#cache.get(key)
    this.context.onEvent?.({
      type: answer === undefined ? 'cache_miss' : 'cache_hit',
      cache: 'introspection',
    })
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

  async invalidate(token: string): Promise<void> {
    const endpoints = new Set<string>()
    if (this.config.endpoint !== undefined) endpoints.add(this.config.endpoint)
    for (const endpoint of this.#discovered.values()) endpoints.add(endpoint)
    for (const endpoint of endpoints) {
      const key = this.#key(endpoint, token)
      this.#cache.delete(key)
      await this.config.store?.delete(key).catch((error: unknown) => {
        this.#storeFailed('delete', error)
      })
    }
  }

  /** Empties the in-memory cache. A shared store belongs to whoever created it: not closed here. */
  close(): Promise<void> {
    this.#cache.clear()
    return Promise.resolve()
  }

  /** Each issuer's endpoint once its discovery answered. */
  readonly #discovered = new Map<string, string>()

  async #endpoint(issuer: string): Promise<string> {
    if (this.config.endpoint !== undefined) return this.config.endpoint
    const metadata = await this.discoveryOf(issuer).get()
    if (metadata.introspection_endpoint === undefined) {
      this.context.logger?.error(
        'tokenward: the issuer metadata has no introspection_endpoint; set introspection.endpoint',
        { issuer },
      )
      throw new TokenwardError('upstream_unavailable', { retryAfterSeconds: 60 })
    }
    this.#discovered.set(issuer, metadata.introspection_endpoint)
    return metadata.introspection_endpoint
  }

  /** R-I8: (endpoint, client id, SHA-256 of the token); the answer depends on who asks. */
  #key(endpoint: string, token: string): string {
    let scope = this.#scopes.get(endpoint)
    if (scope === undefined) {
      scope = hash('sha256', `${endpoint}\n${this.#clientId}`, 'base64url').slice(0, 16)
      this.#scopes.set(endpoint, scope)
    }
    return `introspection:${scope}:${hashToken(token)}`
  }

  /** Per endpoint (a handful: one per issuer), the hashed (endpoint, client id) key prefix. */
  readonly #scopes = new Map<string, string>()

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
    const auth = this.config.auth
    if (auth.method === 'client_secret_basic') {
      headers.authorization = basicAuthorization(auth.clientId, auth.clientSecret)
    } else if (auth.method === 'client_secret_post') {
      body.set('client_id', auth.clientId)
      body.set('client_secret', auth.clientSecret)
    } else {
      body.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
      body.set('client_assertion', await this.#assertion(issuer))
    }
    try {
      const response = await requestJson(
        this.context.fetch,
        endpoint,
        { method: 'POST', headers, body: body.toString() },
        this.config.timeoutMs,
      )
      const answer = this.#answer(endpoint, response.status, response.json)
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

  #answer(endpoint: string, status: number, json: unknown): Answer {
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

  /** A fresh assertion per request: issuers reject a replayed `jti`. */
  #assertion(issuer: string): Promise<string> {
    const { key, alg, keyId, clientId } = this.#signingKey!
    return new SignJWT({})
      .setProtectedHeader({ alg, kid: keyId, typ: 'JWT' })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(issuer)
      .setIssuedAt()
      .setExpirationTime('60s')
      .setJti(randomUUID())
      .sign(key)
  }
}
