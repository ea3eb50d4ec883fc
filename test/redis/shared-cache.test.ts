// Two validators (two API instances) share one Redis store: an opaque token is introspected once
// at the real OpenID Provider (test/support/issuer.ts); a Redis outage costs a direct
// introspection and a warning, never a rejected token.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createValidator, type CacheStore, type Logger, type Validator } from '@tokenward/core'
import { createRedisStore } from '@tokenward/redis'
import { spyLogger } from '../../packages/core/test/support/tokens.js'
import { Redis } from '../../packages/redis/test/support/client.js'
import { startIssuer, type TestIssuer } from '../support/issuer.js'
import {
  requireRedis,
  startRedis,
  type TestRedis,
} from '../../packages/redis/test/support/redis.js'

const haveRedis = requireRedis()

const API = 'https://orders.api.tokenward.test'

describe.skipIf(!haveRedis)('a Redis store shared by two validators', () => {
  let issuer: TestIssuer
  let redis: TestRedis
  let raw: Redis
  const validators: Validator[] = []
  const stores: CacheStore[] = []

  beforeAll(async () => {
    ;[issuer, redis] = await Promise.all([startIssuer(), startRedis()])
    raw = new Redis(redis.url)
  })
  afterEach(async () => {
    await Promise.all(validators.splice(0).map((v) => v.close()))
    await Promise.all(
      stores.splice(0).map(async (s) => {
        await s.close?.()
      }),
    )
  })
  afterAll(async () => {
    raw.disconnect()
    await Promise.all([issuer.close(), redis.stop()])
  })

  function newStore(url = redis.url): CacheStore {
    const store = createRedisStore({ url })
    stores.push(store)
    return store
  }

  function validator(store: CacheStore, logger?: Logger): Validator {
    const created = createValidator({
      issuer: issuer.issuer,
      audience: API,
      introspection: {
        auth: { method: 'client_secret_basic', ...issuer.introspectionClients.basic },
        cache: { store },
      },
      ...(logger === undefined ? {} : { logger }),
    })
    validators.push(created)
    return created
  }

  it('introspects an opaque token once for both validators', async () => {
    const store = newStore()
    const logger = spyLogger()
    const first = validator(store, logger)
    const second = validator(store, logger)
    const { token } = await issuer.issueToken({ format: 'opaque', audience: [API] })
    issuer.resetRequests()

    const one = await first.validate(token)
    expect(one.source).toBe('introspection')
    expect(one.audience).toEqual([API])
    expect(issuer.requests.introspection).toBe(1)

    // Validator 2 has an empty memory cache: the answer comes from Redis.
    const two = await second.validate(token)
    expect(two.source).toBe('introspection')
    expect(two.subject).toBe(one.subject)
    expect(two.claims).toEqual(one.claims)
    expect(issuer.requests.introspection).toBe(1)

    // And again from each one's memory.
    await Promise.all([first.validate(token), second.validate(token)])
    expect(issuer.requests.introspection).toBe(1)
    expect(logger.warn).not.toHaveBeenCalled()
  })

  it('stores hashed keys and an answer, never the token, with a TTL', async () => {
    const store = newStore()
    const { token } = await issuer.issueToken({ format: 'opaque', audience: [API] })
    await validator(store).validate(token)

    const keys = await raw.keys('tokenward:*')
    expect(keys.length).toBeGreaterThan(0)
    for (const key of keys) {
      expect(key).not.toContain(token)
      const value = await raw.get(key)
      expect(value).not.toContain(token)
      const ttl = await raw.ttl(key)
      expect(ttl).toBeGreaterThan(0)
      expect(ttl).toBeLessThanOrEqual(60) // introspection.cache.ttlSeconds default
    }
  })

  it('accepts a valid token while Redis is down, introspecting directly and warning', async () => {
    const down = await startRedis()
    const store = newStore(down.url)
    const logger = spyLogger()
    const first = validator(store, logger)
    const second = validator(store, logger)
    const warm = await issuer.issueToken({ format: 'opaque', audience: [API] })
    await first.validate(warm.token)
    expect(logger.warn).not.toHaveBeenCalled()

    down.kill()
    await down.stop()
    const { token } = await issuer.issueToken({ format: 'opaque', audience: [API] })
    issuer.resetRequests()

    const started = performance.now()
    const auth = await first.validate(token)
    const ms = performance.now() - started
    expect(auth.source).toBe('introspection')
    expect(auth.audience).toEqual([API])
    expect(issuer.requests.introspection).toBe(1)
    expect(ms).toBeLessThan(1000)
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringMatching(/cache store get failed; introspecting directly/),
      expect.objectContaining({ error: expect.any(String) }),
    )
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringMatching(/cache store set failed/),
      expect.anything(),
    )
    for (const [message, meta] of logger.warn.mock.calls) {
      expect(`${message} ${JSON.stringify(meta)}`).not.toContain(token)
    }

    // Without the shared store, validator 2 has to introspect itself: still accepted.
    const again = await second.validate(token)
    expect(again.subject).toBe(auth.subject)
    expect(issuer.requests.introspection).toBe(2)
    console.info(`validate() with Redis killed: ${ms.toFixed(1)} ms`)
  })

  it('accepts a valid token within a second while Redis hangs (command timeout)', async () => {
    const frozen = await startRedis()
    try {
      const store = newStore(frozen.url)
      const logger = spyLogger()
      const v = validator(store, logger)
      await v.validate((await issuer.issueToken({ format: 'opaque', audience: [API] })).token)
      const { token } = await issuer.issueToken({ format: 'opaque', audience: [API] })
      frozen.pause()

      const started = performance.now()
      const auth = await v.validate(token)
      const ms = performance.now() - started
      expect(auth.audience).toEqual([API])
      expect(ms).toBeLessThan(1000)
      expect(logger.warn).toHaveBeenCalledWith(
        expect.stringMatching(/cache store get failed/),
        expect.objectContaining({ error: expect.stringMatching(/timed out/i) }),
      )
      // get and set each wait for the 200 ms command timeout (the core awaits the set).
      console.info(`validate() with Redis hung: ${ms.toFixed(1)} ms`)
    } finally {
      frozen.resume()
      await frozen.stop()
    }
  })
})
