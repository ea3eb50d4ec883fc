/**
 * Active introspection answers in a store shared by many instances (e.g. Redis), and how far a
 * reader trusts them: no further than an answer it fetched itself.
 *
 * - Only active answers are shared (an inactive one is kept briefly by each instance).
 * - Every entry read is checked for its shape (`active: true`, claims an object, the times it
 *   was fetched and expires as numbers); an entry that is not one is ignored, counted in an
 *   `onEvent`, and the token is introspected directly. So is a store that fails.
 * - A reader caps an entry's life by its own settings: min(`until`, fetched + its own
 *   `ttlSeconds`, `exp`). A peer configured to cache for an hour cannot make this instance accept
 *   a revoked token for longer than its own `ttlSeconds`.
 * - With `signingKey`, each entry carries an HMAC-SHA-256 (RFC 2104) over its cache key and its
 *   content, checked on read: an entry without a valid MAC is ignored. Without it, anyone who
 *   can write to the store can make every instance accept any token: the store is then part of
 *   the trusted base, like the issuer itself.
 */
import { fail } from './option-values.js'
import { runtime } from './runtime/index.js'
import type { CacheStore, Claims } from './types.js'
import type { UpstreamContext } from './upstream.js'

/** An active answer: its claims, when it was fetched and until when it may be used (epoch ms). */
export interface SharedAnswer {
  readonly active: true
  readonly claims: Claims
  readonly at: number
  readonly until: number
}

/** Bytes an HMAC-SHA-256 key needs at least (the hash's output length, RFC 2104 §3). */
const MIN_KEY_BYTES = 32

/** The checked `introspection.cache.signingKey` option, as bytes. */
export function signingKeyOption(value: unknown): Uint8Array | undefined {
  if (value === undefined) return undefined
  const bytes =
    typeof value === 'string'
      ? new TextEncoder().encode(value)
      : value instanceof Uint8Array
        ? value
        : undefined
  if (bytes === undefined || bytes.byteLength < MIN_KEY_BYTES) {
    fail(
      'introspection.cache.signingKey',
      `must be a secret of at least ${MIN_KEY_BYTES} bytes (a string or a Uint8Array), the same on every instance`,
    )
  }
  return bytes
}

export class SharedAnswers {
  constructor(
    private readonly store: CacheStore,
    private readonly ttlSeconds: number,
    private readonly signingKey: Uint8Array | undefined,
    private readonly context: UpstreamContext,
    private readonly clock: () => number,
  ) {}

  /** The entry under `key` if it is a usable active answer; a failing store counts as none. */
  async get(key: string): Promise<SharedAnswer | undefined> {
    let value: unknown
    try {
      value = await this.store.get(key)
    } catch (error) {
      // A store outage costs a direct introspection, never a rejected token.
      this.#failed('get', error)
      return undefined
    }
    // A store may answer null for a missing key, whatever its type says.
    if (value === undefined || value === null) return undefined
    const entry = this.#open(key, value)
    if (entry === undefined) return undefined
    const { claims, at } = entry
    const exp = typeof claims.exp === 'number' ? claims.exp * 1000 : Infinity
    const until = Math.min(entry.until, at + this.ttlSeconds * 1000, exp)
    return until > this.clock() ? { active: true, claims, at, until } : undefined
  }

  /** Shares an active answer (not awaited: a slow store must not delay the answer). */
  set(key: string, answer: SharedAnswer): void {
    const ttlMs = answer.until - this.clock()
    if (ttlMs < 1000) return
    const content = JSON.stringify(answer)
    const value = this.signingKey === undefined ? content : `${this.#mac(key, content)}.${content}`
    this.store.set(key, value, Math.floor(ttlMs / 1000)).catch((error: unknown) => {
      this.#failed('set', error)
    })
  }

  async delete(key: string): Promise<void> {
    await this.store.delete(key).catch((error: unknown) => {
      this.#failed('delete', error)
    })
  }

  /** The entry's answer if its MAC (when required) and its shape hold; else undefined, counted. */
  #open(key: string, value: unknown): SharedAnswer | undefined {
    if (typeof value !== 'string') return this.#rejected('not a string')
    let content = value
    if (this.signingKey !== undefined) {
      const dot = value.indexOf('.')
      const mac = runtime.decodeBase64(value.slice(0, Math.max(dot, 0)))
      content = value.slice(dot + 1)
      const expected = runtime.decodeBase64(this.#mac(key, content))
      if (dot <= 0 || !runtime.timingSafeEqual(mac, expected)) {
        return this.#rejected('no valid MAC')
      }
    }
    let entry: unknown
    try {
      entry = JSON.parse(content)
    } catch {
      return this.#rejected('not JSON')
    }
    const { active, claims, at, until } = (entry ?? {}) as Record<string, unknown>
    if (
      active !== true ||
      typeof claims !== 'object' ||
      claims === null ||
      Array.isArray(claims) ||
      typeof at !== 'number' ||
      typeof until !== 'number' ||
      !Number.isFinite(at) ||
      !Number.isFinite(until)
    ) {
      return this.#rejected('not an active answer')
    }
    return { active, claims: claims as Claims, at, until }
  }

  #mac(key: string, content: string): string {
    return runtime.hmacSha256(this.signingKey!, `${key}\n${content}`)
  }

  #rejected(reason: string): SharedAnswer | undefined {
    this.context.onEvent?.({ type: 'store_entry_rejected', reason })
    return undefined
  }

  #failed(operation: string, error: unknown): void {
    this.context.logger?.warn(
      `tokenward: introspection cache store ${operation} failed; introspecting directly`,
      { error: error instanceof Error ? error.message : String(error) },
    )
  }
}
