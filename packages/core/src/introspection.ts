/**
 * RFC 7662 token introspection and its answer caches.
 *
 * What an answer means: `active: true` comes back as claims for the same policy as a JWT;
 * `active: false` is `token_inactive`. A 4xx is about the token or about this server:
 * - 401, a 403 with an OAuth `error`, or `invalid_client` / `unauthorized_client` (RFC 6749 §5.2)
 *   say the issuer refused this server's client credentials: every token would fail, so it is
 *   logged as a misconfiguration, answered 503 and backs the endpoint off;
 * - any other 4xx (the issuer, or a firewall before it, refused this one token) is a 401 for
 *   that request only: `malformed_token` when the answer says the token is unreadable
 *   (`invalid_request`, `unsupported_token_type`, `invalid_token`), else `token_inactive`.
 * Connection errors, timeouts, 5xx, 429 and bodies that are not a JSON object with a boolean
 * `active` are outages: 503, and the endpoint is backed off (per endpoint).
 *
 * Caches, keyed by (endpoint, client id, SHA-256 of the token), one request in flight per key:
 * active answers live min(ttlSeconds, exp − now); inactive and refused ones live
 * negativeTtlSeconds in an LRU of their own, so a flood of junk tokens cannot evict active
 * answers. Active answers may also go to a shared store (see `shared-answers.ts`).
 */
import { LRUCache } from 'lru-cache'
import { ClientAuthentication } from './client-auth.js'
import { TokenwardError, type TokenwardErrorCode } from './errors.js'
import type { IntrospectionConfig } from './introspection-options.js'
import { isObject } from './option-values.js'
import { runtime } from './runtime/index.js'
import { SharedAnswers, type SharedAnswer } from './shared-answers.js'
import { hashToken } from './token.js'
import {
  Backoff,
  UpstreamFailure,
  reportFailure,
  requestAnswer,
  unavailable,
  upstreamText,
  type UpstreamContext,
} from './upstream.js'

/** What is cached: the answer, never the token or a decision. */
type Answer =
  | SharedAnswer
  | {
      readonly active: false
      /** Why the token is refused: `token_inactive`, or `malformed_token` for a 4xx saying so. */
      readonly code: TokenwardErrorCode
      readonly until: number
    }

/** OAuth errors (RFC 6749 §5.2) that refuse this server's client, not the token. */
const CLIENT_REFUSED = new Set(['invalid_client', 'unauthorized_client'])
/** OAuth errors that say the token itself cannot be read. */
const UNREADABLE = new Set(['invalid_request', 'unsupported_token_type', 'invalid_token'])

export class Introspector {
  readonly #active: LRUCache<string, SharedAnswer>
  readonly #inactive: LRUCache<string, Answer>
  /** One request per key in flight: concurrent requests for a new token share it. */
  readonly #pending = new Map<string, Promise<Answer>>()
  readonly #backoffs = new Map<string, Backoff>()
  readonly #client: ClientAuthentication
  readonly #shared: SharedAnswers | undefined
  /** Per endpoint (a handful: one per issuer), the hashed (endpoint, client id) key prefix. */
  readonly #keyPrefixes = new Map<string, string>()

  constructor(
    private readonly config: IntrospectionConfig,
    private readonly context: UpstreamContext,
    private readonly clock: () => number,
  ) {
    this.#client = new ClientAuthentication(config.auth)
    const perf = { now: clock }
    this.#active = new LRUCache({ perf, max: config.cacheMax })
    this.#inactive = new LRUCache({ perf, max: config.cacheMax })
    this.#shared =
      config.store === undefined
        ? undefined
        : new SharedAnswers(config.store, config.ttlSeconds, config.signingKey, context, clock)
  }

  /**
   * The active answer's claims; throws `token_inactive`, `malformed_token` or
   * `upstream_unavailable`. Synchronous on a cache hit: a promise only when the answer must be
   * fetched.
   */
  introspect(
    token: string,
    endpoint: string,
    issuer: string,
  ): SharedAnswer | Promise<SharedAnswer> {
    const key = this.#key(endpoint, token)
    const answer = this.#active.get(key) ?? this.#inactive.get(key)
    this.context.onEvent?.(answer === undefined ? CACHE_MISS : CACHE_HIT)
    if (answer !== undefined) return activeAnswer(answer)
    let pending = this.#pending.get(key)
    if (pending === undefined) {
      pending = this.#load(key, token, endpoint, issuer).finally(() => {
        this.#pending.delete(key)
      })
      this.#pending.set(key, pending)
    }
    return pending.then(activeAnswer)
  }

  /** Forgets the answers about `token` from each endpoint, in memory and in the shared store. */
  async invalidate(token: string, endpoints: Iterable<string>): Promise<void> {
    for (const endpoint of endpoints) {
      const key = this.#key(endpoint, token)
      this.#active.delete(key)
      this.#inactive.delete(key)
      await this.#shared?.delete(key)
    }
  }

  /** Empties the in-memory caches. A shared store belongs to whoever created it: not closed here. */
  close(): void {
    this.#active.clear()
    this.#inactive.clear()
  }

  /** (endpoint, client id, SHA-256 of the token): the answer depends on who asks (RFC 7662 §2.1). */
  #key(endpoint: string, token: string): string {
    let prefix = this.#keyPrefixes.get(endpoint)
    if (prefix === undefined) {
      prefix = runtime.sha256(`${endpoint}\n${this.#client.clientId}`).slice(0, 16)
      this.#keyPrefixes.set(endpoint, prefix)
    }
    return `introspection:${prefix}:${hashToken(token)}`
  }

  async #load(key: string, token: string, endpoint: string, issuer: string): Promise<Answer> {
    const stored = await this.#shared?.get(key)
    if (stored !== undefined) {
      this.#active.set(key, stored, { ttl: Math.max(1, stored.until - this.clock()) })
      return stored
    }
    const answer = await this.#request(endpoint, token, issuer)
    const ttl = Math.max(1, answer.until - this.clock())
    if (answer.active) {
      this.#active.set(key, answer, { ttl })
      this.#shared?.set(key, answer)
    } else {
      this.#inactive.set(key, answer, { ttl })
    }
    return answer
  }

  #backoff(endpoint: string): Backoff {
    let backoff = this.#backoffs.get(endpoint)
    if (backoff === undefined) {
      backoff = new Backoff(this.context.backoff.minMs, this.context.backoff.maxMs)
      this.#backoffs.set(endpoint, backoff)
    }
    return backoff
  }

  async #request(endpoint: string, token: string, issuer: string): Promise<Answer> {
    const backoff = this.#backoff(endpoint)
    if (backoff.remainingSeconds() > 0) throw unavailable(backoff)
    const body = new URLSearchParams({ token, token_type_hint: 'access_token' })
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    }
    let answer: Answer
    try {
      await this.#client.apply(headers, body, issuer).catch((cause: unknown) => {
        // A private_key_jwt key that did not import (the Web build imports it on first use).
        throw new UpstreamFailure(
          endpoint,
          'no client assertion could be signed: check introspection.auth.keyFile',
          { cause, misconfigured: true },
        )
      })
      const response = await requestAnswer(
        this.context,
        'introspection',
        endpoint,
        { method: 'POST', headers, body: body.toString() },
        this.config.timeoutMs,
      )
      answer = this.#answerOf(endpoint, response.status, response.json, token)
    } catch (error) {
      const misconfigured = error instanceof UpstreamFailure && error.misconfigured
      const level = misconfigured ? 'error' : 'warn'
      reportFailure(this.context, backoff, 'introspection', endpoint, error, level)
      throw unavailable(backoff, error)
    }
    backoff.succeeded()
    return answer
  }

  /** What an answer means (RFC 7662 §2.2, §2.3); throws the {@link UpstreamFailure} of an outage. */
  #answerOf(endpoint: string, status: number, json: unknown, token: string): Answer {
    const now = this.clock()
    const error = isObject(json) && json.error !== undefined ? upstreamText(json.error, token) : ''
    if (status >= 400 && status < 500 && status !== 429) {
      if (status === 401 || CLIENT_REFUSED.has(error) || (status === 403 && error !== '')) {
        throw new UpstreamFailure(
          endpoint,
          `HTTP ${status}${error === '' ? '' : ` ${error}`}: the issuer refused this server's client credentials; check introspection.auth`,
          { status, misconfigured: true },
        )
      }
      this.context.onEvent?.({ type: 'token_refused_upstream', url: endpoint, status })
      const code = UNREADABLE.has(error) ? 'malformed_token' : 'token_inactive'
      return { active: false, code, until: now + this.config.negativeTtlSeconds * 1000 }
    }
    if (status !== 200) {
      throw new UpstreamFailure(endpoint, `HTTP ${status}${error === '' ? '' : ` ${error}`}`, {
        status,
      })
    }
    if (!isObject(json)) throw new UpstreamFailure(endpoint, 'answer is not a JSON object')
    if (json.active === false) {
      return {
        active: false,
        code: 'token_inactive',
        until: now + this.config.negativeTtlSeconds * 1000,
      }
    }
    if (json.active !== true) throw new UpstreamFailure(endpoint, 'answer has no boolean "active"')
    let ttlMs = this.config.ttlSeconds * 1000
    if (typeof json.exp === 'number' && Number.isFinite(json.exp)) {
      // RFC 7662 §4: never cached beyond the token's expiry.
      ttlMs = Math.min(ttlMs, json.exp * 1000 - now)
    }
    return { active: true, claims: json, at: now, until: now + Math.max(0, ttlMs) }
  }
}

/** An active answer (its claims, and until when it is cached); an inactive one throws its code. */
function activeAnswer(answer: Answer): SharedAnswer {
  if (!answer.active) throw new TokenwardError(answer.code)
  return answer
}

const CACHE_HIT = Object.freeze({ type: 'cache_hit', cache: 'introspection' } as const)
const CACHE_MISS = Object.freeze({ type: 'cache_miss', cache: 'introspection' } as const)
