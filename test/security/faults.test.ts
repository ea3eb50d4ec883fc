// Issuer faults. An issuer outage or an invalid answer from it (the JWKS,
// discovery, a discovery document for another issuer: OIDC Discovery §4.3) is a 503 with
// Retry-After (RFC 9110 §15.6.4, §10.2.3), never a 401, since the token is not at fault
// (the documented failure model); the validator recovers without a restart; unknown kids cannot make it hammer the
// JWKS (a refetch for a new kid, OIDC Core §10.1.1, at most once per cooldown). A real
// OpenID Provider (test/support/issuer.ts) where it can produce the fault, the fault server
// otherwise. Introspection faults are in test/core/introspection.test.ts, Redis outages in
// test/redis/.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createValidator, type TokenwardEvent, type ValidatorOptions } from '@tokenward/core'
import {
  refusedUrl,
  startFaultServer,
  type FaultBehaviour,
  type FaultServer,
} from '../../packages/core/test/support/fault-server.js'
import {
  expectNotLogged,
  expectUnavailable,
  rejection,
  spyLogger,
} from '../../packages/core/test/support/tokens.js'
import { startIssuer, type TestIssuer } from '../support/issuer.js'
import {
  b64url,
  ecPair,
  jws,
  nowSeconds,
  outcome,
  publicJwk,
  signerFor,
  sleep,
  verdictOf,
} from './fixtures.js'

const FAST_BACKOFF = { minSeconds: 0.05, maxSeconds: 0.05 }
const UNKNOWN_KEY = { code: 'unknown_key', status: 401 }

/** The same token with another `kid` (the signature no longer matters: lookup comes first). */
function withKid(token: string, kid: string): string {
  const [header, ...rest] = token.split('.')
  const decoded = JSON.parse(Buffer.from(header!, 'base64url').toString('utf8')) as object
  return [b64url(JSON.stringify({ ...decoded, kid })), ...rest].join('.')
}

// A key of our own for issuers played by the fault server.
const ec = ecPair()
const EC_JWK = publicJwk(ec, 'k1', 'ES256')
const ES = signerFor('ES256', ec.privateKey)

function tokenFor(issuer: string, kid = 'k1'): string {
  const now = nowSeconds()
  return jws(
    { alg: 'ES256', kid, typ: 'JWT' },
    { iss: issuer, sub: 'user-1', aud: 'api', iat: now, exp: now + 300 },
    ES,
  )
}

// ---------------------------------------------------------------------------------------------

describe('JWKS down at start (real issuer)', () => {
  it.each([
    ['answers 503', 'status', true],
    ['resets connections', 'reset', true],
    ['answers 503, discovery included (no jwksUri)', 'status', false],
  ] as const)(
    'the issuer %s: 503 with Retry-After at once, then recovery without restart',
    async (_name, mode, jwksOnly) => {
      const issuer = await startIssuer()
      try {
        const { token } = await issuer.issueToken()
        const logger = spyLogger()
        const validator = createValidator({
          issuer: issuer.issuer,
          audience: issuer.resource,
          ...(jwksOnly ? { jwksUri: issuer.jwksUri } : {}),
          upstreamBackoff: FAST_BACKOFF,
          logger,
        })
        issuer.setDown(true, mode)
        expectUnavailable(await rejection(validator.validate(token)))
        // A burst during the outage: every request answered 503, one upstream request at most.
        const before = { ...issuer.requests }
        const burst = await Promise.all(
          Array.from({ length: 100 }, () => rejection(validator.validate(token))),
        )
        burst.forEach((error) => {
          expectUnavailable(error)
        })
        expect(issuer.requests.jwks - before.jwks).toBeLessThanOrEqual(1)
        expect(issuer.requests.discovery - before.discovery).toBeLessThanOrEqual(1)
        expect(logger.warn).toHaveBeenCalled()

        issuer.setDown(false)
        await sleep(80) // past the 50 ms back-off
        const auth = await validator.validate(token)
        expect(auth.source).toBe('jwt')
        expect(auth.issuer).toBe(issuer.issuer)
        expectNotLogged(logger, token)
      } finally {
        await issuer.close()
      }
    },
  )
})

describe('JWKS down later (real issuer)', () => {
  let issuer: TestIssuer
  beforeAll(async () => {
    issuer = await startIssuer()
  })
  afterAll(async () => {
    await issuer.close()
  })

  it('known kids keep validating from the last good set; a new kid is 503, a forged one 401', async () => {
    issuer.setDown(false)
    const events: TokenwardEvent[] = []
    const validator = createValidator({
      issuer: issuer.issuer,
      audience: issuer.resource,
      tokenCache: false,
      jwks: { cacheMaxAgeSeconds: 0.1, staleIfErrorSeconds: 60 },
      upstreamBackoff: FAST_BACKOFF,
      onEvent: (event) => events.push(event),
    })
    const first = await issuer.issueToken()
    const second = await issuer.issueToken()
    await validator.validate(first.token)
    await sleep(150) // the set is past its max age: the next lookup refreshes it
    issuer.setDown(true)
    try {
      for (const { token } of [second, first, second]) {
        expect((await validator.validate(token)).source).toBe('jwt')
      }
      expect(events.some((event) => event.type === 'stale_keys_used')).toBe(true)
      expect(events.some((event) => event.type === 'upstream_failed')).toBe(true)
      // A kid the last good set does not know may be a key we cannot fetch now: 503, not 401.
      expectUnavailable(await rejection(validator.validate(withKid(first.token, 'rotated'))))
      // The stale keys still check signatures: a forged token stays a 401.
      const forged = `${second.token.slice(0, second.token.lastIndexOf('.'))}.${b64url(randomBytes(256))}`
      expect(verdictOf(await outcome(() => validator.validate(forged)))).toEqual({
        code: 'invalid_signature',
        status: 401,
      })
    } finally {
      issuer.setDown(false)
    }
  })

  it('after staleIfError has run out, a known kid is 503; back to normal once the JWKS is', async () => {
    issuer.setDown(false)
    const validator = createValidator({
      issuer: issuer.issuer,
      audience: issuer.resource,
      tokenCache: false,
      jwks: { cacheMaxAgeSeconds: 0.1, staleIfErrorSeconds: 1 },
      upstreamBackoff: FAST_BACKOFF,
    })
    const { token } = await issuer.issueToken()
    await validator.validate(token)
    const fetchedAt = Date.now()
    await sleep(150)
    issuer.setDown(true)
    try {
      expect((await validator.validate(token)).source).toBe('jwt') // inside the stale window
      await sleep(Math.max(0, fetchedAt + 100 + 1000 + 150 - Date.now()))
      expectUnavailable(await rejection(validator.validate(token)))
      expectUnavailable(await rejection(validator.validate(token)))
    } finally {
      issuer.setDown(false)
    }
    await sleep(80)
    expect((await validator.validate(token)).source).toBe('jwt')
  })
})

describe('a broken JWKS answer is 503, not 401 (fault server)', () => {
  let faults: FaultServer
  beforeAll(async () => {
    faults = await startFaultServer()
  })
  afterAll(async () => {
    await faults.close()
  })

  function jwksValidator(path: string, extra: Partial<ValidatorOptions> = {}) {
    return createValidator({
      issuer: faults.url,
      audience: 'api',
      jwksUri: `${faults.url}${path}`,
      jwks: { timeoutMs: 200 },
      upstreamBackoff: FAST_BACKOFF,
      ...extra,
    })
  }

  const GOOD: FaultBehaviour = { status: 200, body: { keys: [EC_JWK] } }

  it('serves a good set to a validator (control)', async () => {
    faults.setRoute('/jwks/good', GOOD)
    const auth = await jwksValidator('/jwks/good').validate(tokenFor(faults.url))
    expect(auth.subject).toBe('user-1')
  })

  it.each<[string, FaultBehaviour]>([
    ['a body that is not JSON', 'garbage'],
    [
      'an HTML page',
      { status: 200, body: '<html>maintenance</html>', headers: { 'content-type': 'text/html' } },
    ],
    ['HTTP 500', { status: 500, body: { error: 'server_error' } }],
    ['HTTP 404', { status: 404, body: { error: 'not_found' } }],
    ['a slow answer (past jwks.timeoutMs)', { delayMs: 1500, then: GOOD }],
    ['no answer at all', 'hang'],
    ['a reset connection', 'reset'],
    ['2 MiB streamed without Content-Length', { oversizedBytes: 2 * 1024 * 1024 }],
    ['2 MiB with Content-Length', { oversizedBytes: 2 * 1024 * 1024, declareLength: true }],
  ])('%s: 503 fast, and the set is used once it is good again', async (name, behaviour) => {
    const path = `/jwks/${name.replace(/\W+/g, '-')}`
    faults.setRoute(path, behaviour)
    const logger = spyLogger()
    const validator = jwksValidator(path, { logger })
    const token = tokenFor(faults.url)
    const started = Date.now()
    expectUnavailable(await rejection(validator.validate(token)))
    expect(Date.now() - started).toBeLessThan(1000)
    faults.setRoute(path, GOOD)
    await sleep(80)
    expect((await validator.validate(token)).subject).toBe('user-1')
    expectNotLogged(logger, token)
  })

  it('a refused connection: 503', async () => {
    const url = await refusedUrl()
    const validator = createValidator({
      issuer: faults.url,
      audience: 'api',
      jwksUri: `${url}/jwks`,
      upstreamBackoff: FAST_BACKOFF,
    })
    expectUnavailable(await rejection(validator.validate(tokenFor(faults.url))))
  })

  const privateJwk = ec.privateKey.export({ format: 'jwk' })
  // The body is a JWK Set, a JSON object with a `keys` array (RFC 7517 §5), of public keys only;
  // anything else is the issuer's fault (an invalid JWKS is upstream_unavailable, as documented), never
  // the token's.
  it.each<[string, unknown]>([
    ['keys that are private JWKs', { keys: [{ ...privateJwk, kid: 'k1', alg: 'ES256' }] }],
    ['keys not an array (an object)', { keys: { k1: EC_JWK } }],
    ['keys null', { keys: null }],
    ['keys holding strings', { keys: ['k1'] }],
    ['a JSON array instead of a set', [EC_JWK]],
    ['JSON null', null],
  ])('%s: 503, not 401', async (name, body) => {
    const path = `/jwks/invalid-${name.replace(/\W+/g, '-')}`
    faults.setRoute(path, { status: 200, body, headers: { 'content-type': 'application/json' } })
    expectUnavailable(await rejection(jwksValidator(path).validate(tokenFor(faults.url))))
  })

  // A malformed JWKS is an upstream failure, so the back-off applies: one fetch, not one per token.
  it('a malformed JWKS is not refetched for every token (back-off applies)', async () => {
    faults.setRoute('/jwks/refetch', { status: 200, body: { keys: {} } })
    const validator = jwksValidator('/jwks/refetch', {
      upstreamBackoff: { minSeconds: 30, maxSeconds: 30 },
    })
    const token = tokenFor(faults.url)
    for (let i = 0; i < 20; i++) await outcome(() => validator.validate(token))
    expect(faults.requestsTo('/jwks/refetch').length).toBeLessThanOrEqual(1)
  })

  // A published key that cannot be imported (an EC point not on the curve) is the issuer's fault.
  it('a key that cannot be imported: 503, not a raw error (500)', async () => {
    faults.setRoute('/jwks/bad-point', {
      status: 200,
      body: { keys: [{ ...EC_JWK, x: b64url(Buffer.alloc(32, 1)) }] },
    })
    const result = await rejection(jwksValidator('/jwks/bad-point').validate(tokenFor(faults.url)))
    expectUnavailable(result)
  })
})

describe('unknown kids cannot make the validator hammer the JWKS (at most one refetch per cooldown)', () => {
  let issuer: TestIssuer
  beforeAll(async () => {
    issuer = await startIssuer()
  })
  afterAll(async () => {
    await issuer.close()
  })

  const randomKid = () => randomBytes(12).toString('base64url')

  async function unknownKids(
    validator: ReturnType<typeof createValidator>,
    token: string,
    count: number,
  ) {
    const results = await Promise.all(
      Array.from({ length: count }, () =>
        outcome(() => validator.validate(withKid(token, randomKid()))),
      ),
    )
    for (const result of results) expect(verdictOf(result)).toEqual(UNKNOWN_KEY)
  }

  it('1,000 random unknown kids right after a fetch: 401 unknown_key each, no refetch in the cooldown', async () => {
    const validator = createValidator({
      issuer: issuer.issuer,
      audience: issuer.resource,
      tokenCache: false,
    })
    const { token } = await issuer.issueToken()
    await validator.validate(token)
    const base = issuer.requests.jwks
    for (let batch = 0; batch < 10; batch++) await unknownKids(validator, token, 100)
    expect(issuer.requests.jwks - base).toBeLessThanOrEqual(1)
    expect((await validator.validate(token)).source).toBe('jwt')
  })

  it('1,000 concurrent unknown kids on a cold validator share one discovery and one JWKS fetch', async () => {
    const validator = createValidator({ issuer: issuer.issuer, audience: issuer.resource })
    const { token } = await issuer.issueToken()
    const base = { ...issuer.requests }
    await unknownKids(validator, token, 1000)
    expect(issuer.requests.jwks - base.jwks).toBe(1)
    expect(issuer.requests.discovery - base.discovery).toBe(1)
  })

  it('over ~1 s with a 0.2 s cooldown: at most one refetch per cooldown (and at least one)', async () => {
    const cooldownMs = 200
    const validator = createValidator({
      issuer: issuer.issuer,
      audience: issuer.resource,
      jwks: { cooldownSeconds: cooldownMs / 1000 },
    })
    const { token } = await issuer.issueToken()
    await validator.validate(token)
    const base = issuer.requests.jwks
    const started = Date.now()
    for (let batch = 0; batch < 20; batch++) {
      await unknownKids(validator, token, 50)
      await sleep(50)
    }
    const elapsed = Date.now() - started
    const refetches = issuer.requests.jwks - base
    expect(refetches).toBeGreaterThanOrEqual(1) // the cooldown ends: a rotated key can be found
    expect(refetches).toBeLessThanOrEqual(Math.floor(elapsed / cooldownMs) + 1)
  })
})

describe('key rotation (real issuer)', () => {
  it('a new kid is accepted within one 0.2 s cooldown of the rotation; the removed key stops working', async () => {
    const issuer = await startIssuer()
    try {
      const validator = createValidator({
        issuer: issuer.issuer,
        audience: issuer.resource,
        jwks: { cooldownSeconds: 0.2 },
      })
      const old = await issuer.issueToken()
      await validator.validate(old.token) // fetched and cached
      await issuer.rotateKeys()
      const fresh = await issuer.issueToken()
      const issuedAt = Date.now()
      let accepted = false
      for (let attempt = 0; attempt < 40 && !accepted; attempt++) {
        const result = await outcome(() => validator.validate(fresh.token))
        if (result.kind === 'ok') accepted = true
        else {
          expect(verdictOf(result)).toEqual(UNKNOWN_KEY) // still cooling down
          await sleep(25)
        }
      }
      expect(accepted).toBe(true)
      // Within one cooldown of the new kid's first appearance (plus slack for a loaded machine).
      expect(Date.now() - issuedAt).toBeLessThan(200 + 800)
      expect(issuer.requests.jwks).toBe(2)
      // The old key left the JWKS: its cached verdict is dropped and the token refused.
      expect(verdictOf(await outcome(() => validator.validate(old.token)))).toEqual(UNKNOWN_KEY)
    } finally {
      await issuer.close()
    }
  })

  it('with the previous key retained, both kids validate after the refetch', async () => {
    const issuer = await startIssuer()
    try {
      const validator = createValidator({
        issuer: issuer.issuer,
        audience: issuer.resource,
        tokenCache: false,
        jwks: { cooldownSeconds: 0.2 },
      })
      const old = await issuer.issueToken()
      await validator.validate(old.token)
      await issuer.rotateKeys(undefined, { retainPrevious: true })
      const fresh = await issuer.issueToken()
      await sleep(250)
      expect((await validator.validate(fresh.token)).source).toBe('jwt')
      expect((await validator.validate(old.token)).source).toBe('jwt')
    } finally {
      await issuer.close()
    }
  })
})

describe('discovery faults are 503 (fault server as the issuer)', () => {
  let faults: FaultServer
  beforeAll(async () => {
    faults = await startFaultServer()
  })
  afterAll(async () => {
    await faults.close()
  })

  /** An issuer at `${faults.url}/${name}`, whose well-knowns are the fault server's routes. */
  function issuerAt(name: string) {
    const issuer = `${faults.url}/${name}`
    return {
      issuer,
      oidc: `/${name}/.well-known/openid-configuration`,
      rfc8414: `/.well-known/oauth-authorization-server/${name}`,
      jwks: `/${name}/jwks`,
    }
  }

  function discoveryValidator(issuer: string, logger = spyLogger()) {
    return createValidator({
      issuer,
      audience: 'api',
      discoveryTimeoutMs: 200,
      upstreamBackoff: FAST_BACKOFF,
      logger,
    })
  }

  it('a document only at the RFC 8414 well-known is used (control)', async () => {
    const at = issuerAt('rfc8414-only')
    faults.setRoute(at.rfc8414, {
      status: 200,
      body: { issuer: at.issuer, jwks_uri: `${faults.url}${at.jwks}` },
    })
    faults.setRoute(at.jwks, { status: 200, body: { keys: [EC_JWK] } })
    const auth = await discoveryValidator(at.issuer).validate(tokenFor(at.issuer))
    expect(auth.issuer).toBe(at.issuer)
  })

  it('404 on both well-knowns: 503 after asking both', async () => {
    const at = issuerAt('nothing')
    const logger = spyLogger()
    expectUnavailable(
      await rejection(discoveryValidator(at.issuer, logger).validate(tokenFor(at.issuer))),
    )
    expect(faults.requestsTo(at.oidc)).toHaveLength(1)
    expect(faults.requestsTo(at.rfc8414)).toHaveLength(1)
    expect(logger.warn).toHaveBeenCalled()
  })

  it.each<[string, FaultBehaviour]>([
    ['HTTP 500', { status: 500, body: { error: 'server_error' } }],
    ['a body that is not JSON', 'garbage'],
    ['a JSON array', { status: 200, body: [] }],
    ['a slow answer (past discoveryTimeoutMs)', { delayMs: 1500, then: { status: 200, body: {} } }],
    ['a reset connection', 'reset'],
    ['2 MiB of document', { oversizedBytes: 2 * 1024 * 1024 }],
  ])('%s: 503', async (name, behaviour) => {
    const at = issuerAt(`d-${name.replace(/\W+/g, '-')}`)
    faults.setRoute(at.oidc, behaviour)
    const started = Date.now()
    expectUnavailable(await rejection(discoveryValidator(at.issuer).validate(tokenFor(at.issuer))))
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('an issuer mismatch in the document: 503, logger.error, and its jwks_uri is never fetched', async () => {
    const at = issuerAt('mismatch')
    faults.setRoute(at.oidc, {
      status: 200,
      body: { issuer: 'https://evil.example', jwks_uri: `${faults.url}${at.jwks}` },
    })
    faults.setRoute(at.jwks, { status: 200, body: { keys: [EC_JWK] } })
    const logger = spyLogger()
    const token = tokenFor(at.issuer)
    expectUnavailable(await rejection(discoveryValidator(at.issuer, logger).validate(token)))
    expect(logger.error).toHaveBeenCalledOnce()
    expect(JSON.stringify(logger.error.mock.calls)).toContain('evil.example')
    expect(faults.requestsTo(at.jwks)).toEqual([])
    expectNotLogged(logger, token)
  })

  it('no jwks_uri in the document: 503 and logger.error', async () => {
    const at = issuerAt('no-jwks-uri')
    faults.setRoute(at.oidc, { status: 200, body: { issuer: at.issuer } })
    const logger = spyLogger()
    expectUnavailable(
      await rejection(discoveryValidator(at.issuer, logger).validate(tokenFor(at.issuer))),
    )
    expect(logger.error).toHaveBeenCalledOnce()
    expect(JSON.stringify(logger.error.mock.calls)).toContain('jwks_uri')
  })

  it('jwks_uri that is not a string: 503', async () => {
    const at = issuerAt('jwks-uri-number')
    faults.setRoute(at.oidc, { status: 200, body: { issuer: at.issuer, jwks_uri: 42 } })
    expectUnavailable(await rejection(discoveryValidator(at.issuer).validate(tokenFor(at.issuer))))
  })

  it('a bad token still gets its 401 while discovery is failing (offline checks first)', async () => {
    const at = issuerAt('down-but-bad-token')
    faults.setRoute(at.oidc, { status: 500, body: {} })
    const now = nowSeconds()
    const expired = jws(
      { alg: 'ES256', kid: 'k1' },
      { iss: at.issuer, aud: 'api', exp: now - 60 },
      ES,
    )
    expect(verdictOf(await outcome(() => discoveryValidator(at.issuer).validate(expired)))).toEqual(
      {
        code: 'token_expired',
        status: 401,
      },
    )
    expect(faults.requestsTo(at.oidc)).toEqual([])
  })
})
