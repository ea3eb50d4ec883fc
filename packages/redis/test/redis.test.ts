// createRedisStore against a real redis-server (support/redis.ts): commands, TTLs, the key
// prefix, failing fast through an outage, and closing without leftover handles.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { Redis } from 'ioredis'
import type { CacheStore } from '@tokenward/core'
import { createRedisStore, type RedisStore, type RedisStoreUrlOptions } from '@tokenward/redis'
import { requireRedis, startRedis, type TestRedis } from './support/redis.js'

const haveRedis = requireRedis()

/** Resolves to the rejection's error and how long it took, ms. */
async function timedRejection(promise: Promise<unknown>): Promise<{ error: Error; ms: number }> {
  const started = performance.now()
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (reason: unknown) => reason as Error,
  )
  return { error, ms: performance.now() - started }
}

/** Sockets and timers that keep the process alive (what a client left open would hold). */
function handles(): { sockets: number; timers: number } {
  const types = process.getActiveResourcesInfo()
  return {
    sockets: types.filter((type) => type.startsWith('TCP')).length,
    timers: types.filter((type) => type === 'Timeout').length,
  }
}

/** The lowest counts over a few samples: short-lived handles (a PING probe, a sleep) left out. */
async function settledHandles(): Promise<{ sockets: number; timers: number }> {
  let low = handles()
  for (let i = 0; i < 5; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    const now = handles()
    low = { sockets: Math.min(low.sockets, now.sockets), timers: Math.min(low.timers, now.timers) }
  }
  return low
}

/** Polls (no timer of its own alive while it looks) until the counts are down to `expected`. */
async function expectHandlesBackTo(expected: { sockets: number; timers: number }): Promise<void> {
  const back = (now: { sockets: number; timers: number }) =>
    now.sockets <= expected.sockets && now.timers <= expected.timers
  let now = handles()
  for (let i = 0; i < 100 && !back(now); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    now = handles()
  }
  expect(now.sockets).toBeLessThanOrEqual(expected.sockets)
  expect(now.timers).toBeLessThanOrEqual(expected.timers)
}

describe.skipIf(!haveRedis)('createRedisStore against redis-server', () => {
  let redis: TestRedis
  let raw: Redis
  const stores: RedisStore[] = []

  function store(options: Partial<RedisStoreUrlOptions> = {}): RedisStore {
    const created = createRedisStore({ url: redis.url, ...options })
    stores.push(created)
    return created
  }

  beforeAll(async () => {
    redis = await startRedis()
    raw = new Redis(redis.url)
  })
  afterEach(async () => {
    await Promise.all(
      stores.splice(0).map(async (s) => {
        await s.close()
      }),
    )
  })
  afterAll(async () => {
    raw.disconnect()
    await redis.stop()
  })

  it('round-trips get, set and delete, with the TTL on the key', async () => {
    const s = store()
    expect(await s.get('introspection:a')).toBeUndefined()
    await s.set('introspection:a', '{"active":true}', 60)
    expect(await s.get('introspection:a')).toBe('{"active":true}')
    const ttl = await raw.ttl('tokenward:introspection:a')
    expect(ttl).toBeGreaterThan(55)
    expect(ttl).toBeLessThanOrEqual(60)
    await s.delete('introspection:a')
    expect(await s.get('introspection:a')).toBeUndefined()
    expect(await raw.exists('tokenward:introspection:a')).toBe(0)
  })

  it('stores whole seconds and skips a TTL under one second', async () => {
    const s = store()
    await s.set('fraction', 'v', 2.9)
    expect(await raw.ttl('tokenward:fraction')).toBe(2)
    await s.set('short', 'v', 0.5)
    await s.set('zero', 'v', 0)
    await s.set('nan', 'v', Number.NaN)
    expect(await raw.exists('tokenward:short', 'tokenward:zero', 'tokenward:nan')).toBe(0)
  })

  it('claims a DPoP proof once (SET NX EX), the TTL rounded up to whole seconds', async () => {
    const s = createRedisStore({ url: redis.url })
    stores.push(s)
    expect(await s.claim('dpop:p1', 2.1)).toBe(true)
    expect(await raw.get('tokenward:dpop:p1')).toBe('1')
    expect(await raw.ttl('tokenward:dpop:p1')).toBe(3)
    expect(await s.claim('dpop:p1', 300)).toBe(false)
    // The refused claim left the first record as it was.
    expect(await raw.ttl('tokenward:dpop:p1')).toBe(3)
    expect(await s.claim('dpop:p2', 0.2)).toBe(true)
    expect(await raw.ttl('tokenward:dpop:p2')).toBe(1)
  })

  it('applies keyPrefix, and the default prefix is tokenward:', async () => {
    const custom = store({ keyPrefix: 'api-7:' })
    await custom.set('k', 'custom', 30)
    expect(await raw.get('api-7:k')).toBe('custom')
    expect(await raw.exists('tokenward:k')).toBe(0)
    const plain = store()
    expect(await plain.get('k')).toBeUndefined()
    await plain.set('k', 'default', 30)
    expect(await raw.get('tokenward:k')).toBe('default')
    expect(await custom.get('k')).toBe('custom')
  })

  it('uses a given client and leaves it open on close', async () => {
    const client = new Redis(redis.url)
    try {
      const s = createRedisStore({ client, keyPrefix: 'given:' })
      await s.set('k', 'v', 30)
      expect(await raw.get('given:k')).toBe('v')
      await s.close()
      expect(client.status).toBe('ready')
      expect(await client.ping()).toBe('PONG')
    } finally {
      client.disconnect()
    }
  })

  it('works on the first command after creation (waits for the connection)', async () => {
    const s = store()
    await s.set('first', 'v', 30)
    expect(await s.get('first')).toBe('v')
  })

  it('rejects bad options with invalid_config', () => {
    expect(() => createRedisStore({ url: 'http://127.0.0.1:6379' })).toThrow(
      expect.objectContaining({ code: 'invalid_config', option: 'createRedisStore.url' }),
    )
    expect(() => createRedisStore({ url: redis.url, commandTimeoutMs: 0 })).toThrow(
      /createRedisStore\.commandTimeoutMs/,
    )
    expect(() => createRedisStore({ client: {} as never })).toThrow(/createRedisStore\.client/)
    expect(() => createRedisStore({ url: redis.url, client: raw } as never)).toThrow(
      /either url or client/,
    )
  })

  it('rejects after close', async () => {
    const s = store()
    await s.close()
    await expect(s.get('k')).rejects.toThrow(/closed/)
  })

  it('close() leaves no socket or timer behind, also while Redis is down', async () => {
    const before = await settledHandles()
    const s = createRedisStore({ url: redis.url })
    await s.set('h', 'v', 30)
    expect(handles().sockets).toBeGreaterThan(before.sockets)
    await s.close()
    await s.close() // idempotent
    await expectHandlesBackTo(before)

    // A client reconnecting to a dead server holds a reconnect timer: close() clears it.
    const dead = await startRedis()
    const beforeDead = await settledHandles()
    const orphan = createRedisStore({ url: dead.url })
    await orphan.set('h', 'v', 30)
    dead.kill()
    await dead.stop()
    await timedRejection(orphan.get('h'))
    await orphan.close()
    await expectHandlesBackTo(beforeDead)
  })
})

describe.skipIf(!haveRedis)('a Redis outage fails fast', () => {
  let redis: TestRedis | undefined
  let s: CacheStore | undefined
  afterEach(async () => {
    await s?.close?.()
    await redis?.stop()
  })

  it('rejects get and set within a second once the server is killed', async () => {
    redis = await startRedis()
    s = createRedisStore({ url: redis.url })
    await s.set('k', 'v', 30)
    redis.kill()
    await redis.stop()

    const get = await timedRejection(s.get('k'))
    const set = await timedRejection(s.set('k', 'v', 30))
    expect(get.ms).toBeLessThan(1000)
    expect(set.ms).toBeLessThan(1000)

    // Still fast while ioredis keeps trying to reconnect.
    await new Promise((resolve) => setTimeout(resolve, 300))
    const later = await Promise.all([
      timedRejection(s.get('k')),
      timedRejection(s.delete('k')),
      timedRejection(s.set('k', 'v', 30)),
    ])
    for (const { ms } of later) expect(ms).toBeLessThan(1000)
    console.info(
      `store failure with Redis killed: get ${get.ms.toFixed(1)} ms, set ${set.ms.toFixed(1)} ms, ` +
        `later ${later.map(({ ms }) => ms.toFixed(1)).join(' / ')} ms`,
    )
  })

  it('rejects after the command timeout when the server hangs', async () => {
    redis = await startRedis()
    s = createRedisStore({ url: redis.url, commandTimeoutMs: 150 })
    await s.set('k', 'v', 30)
    redis.pause()
    try {
      const get = await timedRejection(s.get('k'))
      const set = await timedRejection(s.set('k', 'v', 30))
      expect(get.error.message).toMatch(/timed out/i)
      expect(get.ms).toBeGreaterThanOrEqual(140)
      expect(get.ms).toBeLessThan(1000)
      expect(set.ms).toBeLessThan(1000)
      console.info(
        `store failure with Redis hung (commandTimeoutMs 150): get ${get.ms.toFixed(1)} ms, set ${set.ms.toFixed(1)} ms`,
      )
    } finally {
      redis.resume()
    }
  })

  it('fails fast when Redis is down from the start, and recovers when it comes back', async () => {
    redis = await startRedis()
    const port = redis.port
    await redis.stop()
    const warn = vi.fn()
    s = createRedisStore({ url: `redis://127.0.0.1:${port}`, logger: { warn } })
    const first = await timedRejection(s.get('k'))
    expect(first.ms).toBeLessThan(1000)
    await vi.waitFor(() => {
      expect(warn).toHaveBeenCalledTimes(1)
    })
    expect(warn.mock.calls[0]?.[0]).toMatch(/Redis connection failed/)

    // The same port again (a restart): the store reconnects by itself.
    redis = await startRedis({ port })
    await vi.waitFor(
      async () => {
        await s!.set('k', 'back', 30)
      },
      { timeout: 5000, interval: 100 },
    )
    expect(await s.get('k')).toBe('back')
    expect(warn).toHaveBeenCalledTimes(1) // one warning per outage, not one per reconnect attempt
  })
})
