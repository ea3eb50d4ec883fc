// Two validators (two API instances) share the DPoP replay record (RFC 9449 §11.1) through one
// Redis store: a proof accepted by one is refused by the other. A Redis outage fails closed: the
// request is refused as an outage (503), never accepted unchecked. The tokens are DPoP-bound
// tokens from the real OpenID Provider (test/support/issuer.ts).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createValidator, type Validator } from '@tokenward/core'
import { createRedisStore, type RedisStore } from '@tokenward/redis'
import { createDpopClient, type DpopClient } from '../../packages/core/test/support/dpop.js'
import { expectUnavailable, rejection } from '../../packages/core/test/support/tokens.js'
import { Redis } from '../../packages/redis/test/support/client.js'
import {
  requireRedis,
  startRedis,
  type TestRedis,
} from '../../packages/redis/test/support/redis.js'
import { startIssuer, type TestIssuer } from '../support/issuer.js'

const haveRedis = requireRedis()

const URL_ = 'https://orders.api.tokenward.test/orders'

describe.skipIf(!haveRedis)('a DPoP replay store shared by two validators', () => {
  let issuer: TestIssuer
  let redis: TestRedis
  let raw: Redis
  let client: DpopClient
  const validators: Validator[] = []
  const stores: RedisStore[] = []

  beforeAll(async () => {
    ;[issuer, redis, client] = await Promise.all([
      startIssuer({ algorithms: ['ES256'] }),
      startRedis(),
      createDpopClient('ES256'),
    ])
    raw = new Redis(redis.url)
  })
  afterEach(async () => {
    await Promise.all(validators.splice(0).map((v) => v.close()))
    await Promise.all(stores.splice(0).map((s) => s.close()))
  })
  afterAll(async () => {
    raw.disconnect()
    await Promise.all([issuer.close(), redis.stop()])
  })

  function instance(url = redis.url): Validator {
    const replay = createRedisStore({ url })
    stores.push(replay)
    const created = createValidator({
      issuer: issuer.issuer,
      audience: issuer.resource,
      dpop: { replay },
    })
    validators.push(created)
    return created
  }

  async function request(token: string) {
    const proof = await client.proof({ method: 'GET', url: URL_, accessToken: token })
    return { method: 'GET', url: URL_, headers: { dpop: proof } }
  }

  it('refuses on one instance a proof accepted by the other (invalid_dpop_proof)', async () => {
    const [first, second] = [instance(), instance()]
    const { token } = await issuer.issueToken({ dpop: client })
    const proven = await request(token)
    const auth = await first.authenticate(`DPoP ${token}`, {}, proven)
    expect(auth.claims.cnf).toEqual({ jkt: client.jkt })
    const replayed = await rejection(second.authenticate(`DPoP ${token}`, {}, proven))
    expect([replayed.code, replayed.status, replayed.error]).toEqual([
      'invalid_dpop_proof',
      401,
      'invalid_dpop_proof',
    ])
    expect(replayed.description).toBe('The DPoP proof is invalid: the proof was used before')
    expect(replayed.wwwAuthenticate()).toBe(
      'Bearer realm="api", DPoP error="invalid_dpop_proof", error_description="The DPoP proof is invalid: the proof was used before", algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA"',
    )
    // One record, in Redis, under the store's prefix.
    expect(await raw.keys('tokenward:dpop:*')).toHaveLength(1)
    // A fresh proof of the same token is accepted by the second instance.
    await expect(second.authenticate(`DPoP ${token}`, {}, await request(token))).resolves.toEqual(
      expect.objectContaining({ token }),
    )
  })

  it('fails closed when Redis is down: 503 upstream_unavailable, the proof is not accepted', async () => {
    const down = await startRedis()
    const validator = instance(down.url)
    const { token } = await issuer.issueToken({ dpop: client })
    // Warm: the connection is up and the token's verdict cached before the outage.
    await validator.authenticate(`DPoP ${token}`, {}, await request(token))
    down.kill()
    await down.stop()
    const proven = await request(token)
    const error = await rejection(validator.authenticate(`DPoP ${token}`, {}, proven))
    expectUnavailable(error)
    expect(error.description).toBe(
      'The token issuer is unavailable: the DPoP replay store is unavailable',
    )
    // A bearer token that needs no proof is not affected.
    const plain = await issuer.issueToken()
    await expect(validator.authenticate(`Bearer ${plain.token}`)).resolves.toEqual(
      expect.objectContaining({ token: plain.token }),
    )
  })
})
