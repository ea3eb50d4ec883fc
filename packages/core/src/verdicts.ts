/**
 * The verdicts a validator remembers about tokens, and the rules they live by. Each validator
 * has its own; nothing is shared between validators.
 *
 * **Verified JWTs** (`tokenCache`: at most `max` entries and `maxBytes` bytes, an entry counted
 * by {@link entryBytes}). Found by the token's last
 * {@link TAIL} characters, the end of its signature; an entry counts only when its whole token
 * is equal. (V8 hashes a string key over every character, about 1 µs for a 650-character token,
 * as long as SHA-256; a 32-character key costs a tenth of that, and any two tokens an issuer
 * signed differ there. The result holds the token anyway, `AuthResult.token`, so a SHA-256 key
 * would hide nothing.) An entry lives min(`ttlSeconds`, exp − now). Past its lifetime deadline
 * (`exp`, or `iat` + `maxTokenAgeSeconds`, with the clock tolerance) the lifetime checks decide
 * again and name the failure. It is dropped as soon as the key that verified it leaves the
 * issuer's key set (compared by RFC 7638 thumbprint, so tokens without `kid` too), and the token
 * is verified again.
 *
 * **Forged signatures** (same key, same lifetime as a verified entry would have). The forged
 * token itself is kept to compare (it is no secret): a flood of them costs a lookup each, not a
 * verification. A cache of its own, so they cannot evict verified tokens, holding at most
 * {@link FORGED_BUDGET} characters.
 *
 * **Introspection results.** The {@link AuthResult} built from a cached introspection answer,
 * kept for as long as the answer itself is cached (the introspector's cache decides that); the
 * lifetime checks run again on every use.
 *
 * Verified tokens also include introspection results (an opaque token, found as fast as a
 * JWT), each until the answer it was built from leaves the introspection cache (and never past
 * its `exp`). Nothing is kept here when introspection is `'always'` (then every use asks the
 * issuer). `invalidate(token)` forgets both.
 */
import { LRUCache } from 'lru-cache'
import { checkTimes, type TimePolicy } from './claims.js'
import type { KeySource, VerificationKey } from './keys.js'
import type { AuthResult, Claims } from './types.js'

/** Characters of a token's end that key the token caches: 192 bits of signature. */
const TAIL = 32
/** Characters of forged tokens the cache may hold (about 4 MB). */
const FORGED_BUDGET = 4 * 1024 * 1024
/**
 * What a verified entry is counted for: the token, its decoded claims and the result around
 * them, about two bytes per character of the token plus a fixed part. Measured on Node 20 (heap
 * used with the cache full, then emptied): 1.2 KB for a 521-character token, 27 KB for a
 * 15,188-character one.
 */
function entryBytes(entry: Verified): number {
  return 512 + 2 * entry.result.token.length
}

/** A remembered forgery: what {@link Verdicts.known} returns for one. */
export const FORGED = Symbol('forged')

/** A cached verdict: the result, {@link FORGED}, or nothing known. */
export type Known = AuthResult | typeof FORGED | undefined

/** A verified JWT's result, cached until `exp` and while its key stays in the key set. */
interface Verified {
  readonly result: AuthResult
  /** The key set and key that verified a JWT; none for an introspection result. */
  readonly keys: KeySource | undefined
  readonly key: VerificationKey | undefined
  /** Seconds (epoch) before which the lifetime checks still hold. */
  readonly until: number
  /** Seconds (epoch) when the entry is dropped: min(`ttlSeconds`, exp − now) after it was made. */
  readonly expires: number
}

/** A remembered forgery: the token itself (to compare), until it would have expired. */
interface Forged {
  readonly token: string
  readonly expires: number
}

/** The `tokenCache` option after checking. */
export interface TokenCacheSettings {
  readonly max: number
  readonly ttlSeconds: number
  /** Bytes the verified entries may hold, each counted by {@link entryBytes}. */
  readonly maxBytes: number
}

export class Verdicts {
  readonly #verified: LRUCache<string, Verified> | undefined
  readonly #forged: LRUCache<string, Forged> | undefined

  constructor(
    private readonly settings: TokenCacheSettings | undefined,
    private readonly time: TimePolicy,
  ) {
    if (settings === undefined) return
    this.#verified = new LRUCache({
      max: settings.max,
      maxSize: settings.maxBytes,
      sizeCalculation: entryBytes,
    })
    this.#forged = new LRUCache({
      max: settings.max,
      maxSize: FORGED_BUDGET,
      sizeCalculation: (forged) => Math.max(forged.token.length, 1),
    })
  }

  /** Whether verdicts on JWTs are kept at all. */
  get enabled(): boolean {
    return this.#verified !== undefined
  }

  /**
   * The cached verdict on `token`: its result if still valid (time has moved on, keys may have
   * left), {@link FORGED}, or undefined when neither cache has that very token. Throws the
   * lifetime failure of a cached token past its deadline.
   */
  known(token: string, now: number): Known {
    const verified = this.#verified
    if (verified === undefined) return undefined
    const key = token.slice(-TAIL)
    const entry = verified.get(key)
    if (entry === undefined || entry.result.token !== token)
      return this.#knownForged(key, token, now)
    if (now >= entry.expires) {
      verified.delete(key)
      return undefined
    }
    if (now >= entry.until) {
      try {
        checkTimes(entry.result.claims, this.time, now, true)
      } catch (error) {
        verified.delete(key)
        throw error
      }
    }
    if (entry.keys !== undefined && !entry.keys.holds(entry.key!)) {
      // The key left the key set: verify again (and fail unless it comes back).
      verified.delete(key)
      return undefined
    }
    return entry.result
  }

  #knownForged(key: string, token: string, now: number): Known {
    const forged = this.#forged!.get(key)
    if (forged?.token !== token) return undefined
    if (now < forged.expires) return FORGED
    this.#forged!.delete(key)
    return undefined
  }

  /** Remembers a JWT verified with `key` from `keys`. */
  rememberVerified(result: AuthResult, keys: KeySource, key: VerificationKey, now: number): void {
    const expires = this.#expiry(result.claims, now)
    if (expires <= now) return
    const until = this.#lifetimeEnd(result.claims)
    this.#verified!.set(result.token.slice(-TAIL), { result, keys, key, until, expires })
  }

  /**
   * Remembers an introspection result until `answerUntil` (Unix seconds), when the answer it was
   * built from leaves the introspection cache, and never beyond `exp`.
   */
  rememberIntrospected(result: AuthResult, answerUntil: number, now: number): void {
    const exp = result.claims.exp
    const expires = typeof exp === 'number' ? Math.min(answerUntil, exp) : answerUntil
    if (expires <= now) return
    const entry = { result, keys: undefined, key: undefined, until: expires, expires }
    this.#verified!.set(result.token.slice(-TAIL), entry)
  }

  /** Remembers a token whose signature did not verify, for as long as it would have lived. */
  rememberForged(token: string, claims: Claims, now: number): void {
    const expires = this.#expiry(claims, now)
    if (expires > now) this.#forged!.set(token.slice(-TAIL), { token, expires })
  }

  /** Forgets `token` in both caches. */
  invalidate(token: string): void {
    const key = token.slice(-TAIL)
    if (this.#verified?.get(key)?.result.token === token) this.#verified.delete(key)
    if (this.#forged?.get(key)?.token === token) this.#forged.delete(key)
  }

  clear(): void {
    this.#verified?.clear()
    this.#forged?.clear()
  }

  /**
   * When an entry made now is dropped: after `ttlSeconds`, never beyond the token's expiry. The
   * deadline is the entry's own, checked on each lookup with the validator's clock (no timers).
   */
  #expiry(claims: Claims, now: number): number {
    return Math.min(now + this.settings!.ttlSeconds, claims.exp as number)
  }

  /** When the lifetime checks stop holding: `exp`, or `iat` + `maxTokenAgeSeconds`. */
  #lifetimeEnd(claims: Claims): number {
    const skew = this.time.clockToleranceSeconds
    const end = (claims.exp as number) + skew
    const { iat } = claims
    return this.time.maxTokenAgeSeconds === undefined || typeof iat !== 'number'
      ? end
      : Math.min(end, iat + this.time.maxTokenAgeSeconds + skew)
  }
}

/** The result built from each cached introspection answer, for as long as the answer lives. */
export class IntrospectionResults {
  readonly #byAnswer = new WeakMap<Claims, AuthResult>()

  constructor(private readonly time: TimePolicy) {}

  /** The result already built from `answer`, its lifetime checked again; undefined if none. */
  get(answer: Claims, now: number): AuthResult | undefined {
    const known = this.#byAnswer.get(answer)
    // A cached answer passed every check before; only time has moved.
    if (known !== undefined) checkTimes(answer, this.time, now, false)
    return known
  }

  set(answer: Claims, result: AuthResult): void {
    this.#byAnswer.set(answer, result)
  }
}
