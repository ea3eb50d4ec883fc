/**
 * Single use of DPoP proofs (RFC 9449 §11.1): claiming a proof in a replay store, and the store
 * kept in this process's memory. A store shared by several instances (`@tokenward/redis`) has
 * the same one-method contract, an atomic set-if-absent.
 */
import { LRUCache } from 'lru-cache'
import { TokenwardError } from './errors.js'
import type { ReplayStore } from './types.js'

/**
 * Records the proof in the replay store. A store that fails (Redis down, a timeout) cannot tell
 * a replayed proof from a fresh one, and RFC 9449 §11.1 makes single use the server's duty: the
 * request fails closed. It is refused as an outage (503 `upstream_unavailable`, Retry-After),
 * not as the client's fault: the same proof is good once the store is back, and no 401 sends
 * the client for a new token it does not need.
 */
export function claimProof(
  store: ReplayStore,
  key: string,
  ttlSeconds: number,
): boolean | Promise<boolean> {
  const unavailable = (cause: unknown): never => {
    throw new TokenwardError('upstream_unavailable', {
      detail: 'the DPoP replay store is unavailable',
      retryAfterSeconds: 1,
      cause,
    })
  }
  try {
    const claimed = store.claim(key, ttlSeconds)
    return claimed instanceof Promise ? claimed.catch(unavailable) : claimed
  } catch (error) {
    return unavailable(error)
  }
}

/** Options of {@link createMemoryReplayStore}. */
export interface MemoryReplayStoreOptions {
  /** Most proofs remembered. Default 100000. */
  readonly max?: number
  /** Milliseconds since the epoch. Default `Date.now`. */
  readonly clock?: () => number
}

/**
 * A {@link ReplayStore} in this process's memory: for one instance of an API (several instances
 * need a shared store). A claim is atomic: JavaScript runs it to the end without interleaving.
 *
 * Bounded: past `max` records the least recently claimed is dropped. A dropped record whose proof
 * was still acceptable would let that proof through again, so the store fails closed instead:
 * it remembers the latest deadline among such records and refuses any proof whose own deadline is
 * not later (any such proof may be one it dropped). Fresh proofs, whose deadlines are later than
 * every older proof's, still pass.
 */
export function createMemoryReplayStore(options: MemoryReplayStoreOptions = {}): ReplayStore {
  const clock = options.clock ?? Date.now
  let horizon = Number.NEGATIVE_INFINITY
  const records = new LRUCache<string, number>({
    max: options.max ?? 100_000,
    dispose: (deadline, _key, reason) => {
      if (reason === 'evict' && deadline > clock()) horizon = Math.max(horizon, deadline)
    },
  })
  return {
    claim(key, ttlSeconds) {
      const now = clock()
      const seen = records.peek(key)
      if (seen !== undefined && seen > now) return false
      const deadline = now + ttlSeconds * 1000
      // The same proof gets a deadline up to two seconds apart on two claims (whole seconds of
      // the ttl, the caller's clock against this one): proofs that close to a dropped record
      // count as possibly dropped.
      if (deadline <= horizon + 2000) return false
      records.set(key, deadline)
      return true
    },
  }
}
