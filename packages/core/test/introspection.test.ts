// validation-rules.md group I and DESIGN "Introspection": the request, client authentication
// (TV-B1–B3), what an answer means (R-I4–R-I6), caching (R-I8) and the introspection mode (R-B4).
// The introspection endpoint is the fault server on 127.0.0.1.
import { generateKeyPairSync } from 'node:crypto'
import { decodeProtectedHeader, jwtVerify } from 'jose'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  basicAuthorization,
  createValidator,
  formUrlEncode,
  type IntrospectionAuth,
  type IntrospectionOptions,
  type Logger,
  type Validator,
  type ValidatorOptions,
} from '@tokenward/core'
import {
  startFaultServer,
  type FaultBehaviour,
  type FaultRoute,
  type FaultServer,
} from './support/fault-server.js'
import {
  ISSUER,
  NOW,
  claims,
  createKey,
  expectFailure,
  freezeTime,
  mint,
  rejection,
  type TestKey,
} from './support/tokens.js'

const OPAQUE = 'VjVxyCZmRmWYqd3_F5db9Pb9mHR5fqzhn'
const P = '170086774599581953'
const APP1 = '170086824411201793@portal'
const APP2 = '209806276543185153@portal'
const ORG = '170086363054473473'
const BASIC: IntrospectionAuth = {
  method: 'client_secret_basic',
  clientId: '78366401571920522@amce',
  clientSecret: 'veryweaksecret!',
}

let server: FaultServer
let key: TestKey

beforeAll(async () => {
  ;[server, key] = await Promise.all([startFaultServer(), createKey()])
})
afterAll(async () => {
  await server.close()
})
beforeEach(() => {
  freezeTime()
  server.clearRequests()
})
afterEach(() => {
  vi.useRealTimers()
})

/** An active answer for this API (TV-I1 shape, times at NOW). */
function active(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    active: true,
    scope: `openid profile urn:zitadel:iam:org:project:id:${P}:aud`,
    client_id: APP1,
    token_type: 'Bearer',
    exp: NOW + 3600,
    iat: NOW,
    nbf: NOW,
    aud: [APP1, APP2, P],
    iss: ISSUER,
    jti: 'V2_1-at_2',
    sub: '170848145649959169',
    'urn:zitadel:iam:org:project:roles': { reader: { [ORG]: 'demo-customer.example' } },
    [`urn:zitadel:iam:org:project:${P}:roles`]: { reader: { [ORG]: 'demo-customer.example' } },
    ...extra,
  }
}

function introspecting(
  answer: FaultRoute,
  options: Partial<ValidatorOptions> = {},
  introspection: Partial<IntrospectionOptions> = {},
): Validator {
  server.setRoute('/introspect', answer)
  return createValidator({
    issuer: ISSUER,
    audience: { trusted: [APP1, APP2, P], required: [P] },
    roles: 'zitadel',
    jwks: { keys: [key.publicJwk] },
    introspection: { endpoint: `${server.url}/introspect`, auth: BASIC, ...introspection },
    ...options,
  })
}

const requests = (): number => server.requestsTo('/introspect').length

describe('R-I2 client_secret_basic encoding (TV-B1–TV-B3)', () => {
  it.each([
    [
      'TV-B1',
      '78366401571920522@amce',
      'veryweaksecret!',
      'Basic NzgzNjY0MDE1NzE5MjA1MjIlNDBhbWNlOnZlcnl3ZWFrc2VjcmV0JTIx',
    ],
    [
      'TV-B2',
      'rs',
      'rs:Mku-6g_lCzKIdz4fsN7kYcya+Ti',
      'Basic cnM6cnMlM0FNa3UtNmdfbEN6S0lkejRmc043a1ljeWElMkJUaQ==',
    ],
    ['TV-B3', 'my client', 'p@ss w+rd~*', 'Basic bXkrY2xpZW50OnAlNDBzcyt3JTJCcmQlN0Uq'],
  ])('%s: basicAuthorization(%j, %j)', (_, id, secret, header) => {
    expect(basicAuthorization(id, secret)).toBe(header)
  })

  it('formUrlEncode is the WHATWG form serializer', () => {
    expect(formUrlEncode('my client')).toBe('my+client')
    expect(formUrlEncode('p@ss w+rd~*')).toBe('p%40ss+w%2Brd%7E*')
  })
})

describe('R-I1 the introspection request', () => {
  it('client_secret_basic: a form POST with the token and the Basic header', async () => {
    await introspecting({ status: 200, body: active() }).validate(OPAQUE)
    const [request] = server.requestsTo('/introspect')
    expect(request?.method).toBe('POST')
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded')
    expect(request?.headers.accept).toBe('application/json')
    expect(request?.headers.authorization).toBe(
      'Basic NzgzNjY0MDE1NzE5MjA1MjIlNDBhbWNlOnZlcnl3ZWFrc2VjcmV0JTIx',
    )
    const form = new URLSearchParams(request?.body)
    expect(form.get('token')).toBe(OPAQUE)
    expect(form.get('token_type_hint')).toBe('access_token')
    expect(form.has('client_secret')).toBe(false)
  })

  it('client_secret_post: the credentials in the form, no Authorization header', async () => {
    const auth: IntrospectionAuth = {
      method: 'client_secret_post',
      clientId: 'api',
      clientSecret: 's3cret',
    }
    await introspecting({ status: 200, body: active() }, {}, { auth }).validate(OPAQUE)
    const [request] = server.requestsTo('/introspect')
    expect(request?.headers.authorization).toBeUndefined()
    const form = new URLSearchParams(request?.body)
    expect([form.get('client_id'), form.get('client_secret'), form.get('token')]).toEqual([
      'api',
      's3cret',
      OPAQUE,
    ])
  })

  it('private_key_jwt: a fresh assertion (new jti) per request, per R-I3', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const keyFile = {
      type: 'application',
      keyId: '81693565968962154',
      key: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      clientId: '78366401571920522@acme',
      appId: '1',
    }
    const validator = introspecting(
      { status: 200, body: active() },
      {},
      { auth: { method: 'private_key_jwt', keyFile } },
    )
    await validator.validate(OPAQUE)
    await validator.validate(`${OPAQUE}2`)
    const assertions = server.requestsTo('/introspect').map((request) => {
      const form = new URLSearchParams(request.body)
      expect(form.get('client_assertion_type')).toBe(
        'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      )
      expect(request.headers.authorization).toBeUndefined()
      return form.get('client_assertion') ?? ''
    })
    expect(assertions).toHaveLength(2)
    const verified = await Promise.all(
      assertions.map((assertion) =>
        jwtVerify(assertion, publicKey, {
          issuer: keyFile.clientId,
          subject: keyFile.clientId,
          audience: ISSUER,
        }),
      ),
    )
    for (const { payload } of verified) {
      expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(3600)
      expect(payload.iat).toBe(NOW)
    }
    expect(verified[0]?.payload.jti).toBeTypeOf('string')
    expect(verified[0]?.payload.jti).not.toBe(verified[1]?.payload.jti)
    expect(decodeProtectedHeader(assertions[0]!)).toMatchObject({
      alg: 'ES256',
      kid: keyFile.keyId,
    })
  })
})

describe('TV-I1 an active answer', () => {
  it('is an introspection result with the answer’s scopes, roles, subject and client', async () => {
    const auth = await introspecting({ status: 200, body: active() }).validate(OPAQUE)
    expect(auth.source).toBe('introspection')
    expect(auth.token).toBe(OPAQUE)
    expect(auth.scopes).toEqual(['openid', 'profile', `urn:zitadel:iam:org:project:id:${P}:aud`])
    expect(auth.roles).toEqual({ reader: [ORG] })
    expect(auth.subject).toBe('170848145649959169')
    expect(auth.clientId).toBe(APP1)
    expect(auth.audience).toEqual([APP1, APP2, P])
    expect(auth.expiresAt).toEqual(new Date((NOW + 3600) * 1000))
  })
})

describe('R-I4, R-I5 what an answer means (DESIGN: active === true proceeds)', () => {
  it.each<[string, string, number, FaultBehaviour]>([
    ['active: false', 'token_inactive', 401, { status: 200, body: { active: false } }],
    ['no active member', 'upstream_unavailable', 503, { status: 200, body: { sub: 'x' } }],
    [
      'active: "true"',
      'upstream_unavailable',
      503,
      { status: 200, body: active({ active: 'true' }) },
    ],
    ['active: 1', 'upstream_unavailable', 503, { status: 200, body: active({ active: 1 }) }],
    [
      'HTTP 400 unauthorized_client',
      'upstream_unavailable',
      503,
      { status: 400, body: { error: 'unauthorized_client' } },
    ],
    ['HTTP 500', 'upstream_unavailable', 503, { status: 500, body: { error: 'boom' } }],
    ['a body that is not JSON', 'upstream_unavailable', 503, 'garbage'],
    ['a JSON list', 'upstream_unavailable', 503, { status: 200, body: [{ active: true }] }],
    ['a connection reset', 'upstream_unavailable', 503, 'reset'],
  ])('%s → %s %i', async (_, code, status, answer) => {
    const error = await rejection(introspecting(answer).validate(OPAQUE))
    expectFailure(error, code, status)
    if (status === 503) expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(1)
  })

  it('a rejected client (400) is logged at error level and never cached', async () => {
    const logger = { warn: vi.fn<Logger['warn']>(), error: vi.fn<Logger['error']>() }
    const validator = introspecting(
      [
        { status: 400, body: { error: 'unauthorized_client' } },
        { status: 200, body: active() },
      ],
      { logger, upstreamBackoff: { minSeconds: 1, maxSeconds: 1 } },
    )
    expectFailure(await rejection(validator.validate(OPAQUE)), 'upstream_unavailable', 503)
    expect(logger.error).toHaveBeenCalledTimes(1)
    expect(JSON.stringify(logger.error.mock.calls)).not.toContain(OPAQUE)
    // Within the back-off: 503 at once, no request.
    expectFailure(await rejection(validator.validate(OPAQUE)), 'upstream_unavailable', 503)
    expect(requests()).toBe(1)
    // After it: asked again (the failure was not cached).
    vi.setSystemTime((NOW + 2) * 1000)
    expect((await validator.validate(OPAQUE)).source).toBe('introspection')
    expect(requests()).toBe(2)
  })

  it('active: false is cached (negative TTL): no second request', async () => {
    const validator = introspecting({ status: 200, body: { active: false } })
    expectFailure(await rejection(validator.validate(OPAQUE)), 'token_inactive', 401)
    expectFailure(await rejection(validator.validate(OPAQUE)), 'token_inactive', 401)
    expect(requests()).toBe(1)
  })
})

describe('R-I6 checks on an active answer', () => {
  it.each<[string, string, Record<string, unknown>, Partial<IntrospectionOptions>]>([
    ['another iss', 'invalid_issuer', { iss: `${ISSUER}/` }, {}],
    ['exp passed', 'token_expired', { exp: NOW - 60 }, {}],
    ['nbf in the future', 'token_not_yet_valid', { nbf: NOW + 60 }, {}],
    ['iat in the future', 'token_not_yet_valid', { iat: NOW + 60 }, {}],
    ['no aud', 'invalid_audience', { aud: undefined }, {}],
    ['an aud without the required project', 'invalid_audience', { aud: [APP1] }, {}],
  ])('%s → %s', async (_, code, change, introspection) => {
    const validator = introspecting({ status: 200, body: active(change) }, {}, introspection)
    expectFailure(await rejection(validator.validate(OPAQUE)), code, 401)
  })

  it('no aud is accepted with introspection.audienceOptional', async () => {
    const validator = introspecting(
      { status: 200, body: active({ aud: undefined }) },
      {},
      { audienceOptional: true },
    )
    expect((await validator.validate(OPAQUE)).audience).toEqual([])
  })

  it('strict audience applies to answers too: an untrusted co-audience is untrusted_audience', async () => {
    const validator = introspecting(
      { status: 200, body: active({ aud: [P, 'evil-app'] }) },
      { audience: { trusted: [P], mode: 'strict' }, roles: { preset: 'zitadel', projectId: P } },
    )
    const error = await rejection(validator.validate(OPAQUE))
    expectFailure(error, 'untrusted_audience', 401)
    expect(error.description).toContain('evil-app')
  })
})

describe('R-I8 the answer cache', () => {
  it('an active answer is reused: one request for two validations', async () => {
    const validator = introspecting({ status: 200, body: active() })
    await validator.validate(OPAQUE)
    await validator.validate(OPAQUE, { roles: ['reader'] })
    expect(requests()).toBe(1)
  })

  it('a cached answer is re-checked for exp on every hit', async () => {
    const validator = introspecting(
      { status: 200, body: active({ exp: NOW + 30 }) },
      { clockToleranceSeconds: 0 },
    )
    await validator.validate(OPAQUE)
    vi.setSystemTime((NOW + 30) * 1000)
    expectFailure(await rejection(validator.validate(OPAQUE)), 'token_expired', 401)
  })

  it('only the answer is cached, not the decision: requirements are checked on every hit', async () => {
    const validator = introspecting({ status: 200, body: active() })
    await validator.validate(OPAQUE, { roles: ['reader'] })
    expectFailure(
      await rejection(validator.validate(OPAQUE, { roles: ['admin'] })),
      'insufficient_role',
      403,
    )
    expect(requests()).toBe(1)
  })

  it('invalidate(token) forgets the answer', async () => {
    const validator = introspecting({ status: 200, body: active() })
    await validator.validate(OPAQUE)
    await validator.invalidate(OPAQUE)
    await validator.validate(OPAQUE)
    expect(requests()).toBe(2)
  })
})

describe('R-B4 introspection mode', () => {
  it("'opaque' (default): a valid JWT is verified locally, not introspected", async () => {
    const auth = await introspecting({ status: 200, body: { active: false } }).validate(
      await mint(key, claims({ aud: P })),
    )
    expect(auth.source).toBe('jwt')
    expect(requests()).toBe(0)
  })

  it.each(['opaque', 'always'] as const)(
    "'%s': a JWT that fails local validation is never sent to introspection",
    async (mode) => {
      const forged = await mint(await createKey('ES256', key.kid), claims({ aud: P }))
      const validator = introspecting({ status: 200, body: active() }, {}, { mode })
      expectFailure(await rejection(validator.validate(forged)), 'invalid_signature', 401)
      expect(requests()).toBe(0)
    },
  )

  it("'always': a valid JWT is introspected too; active: false is token_inactive", async () => {
    const token = await mint(key, claims({ aud: P }))
    const validator = introspecting(
      { status: 200, body: { active: false } },
      {},
      { mode: 'always' },
    )
    expectFailure(await rejection(validator.validate(token)), 'token_inactive', 401)
    expect(new URLSearchParams(server.requestsTo('/introspect')[0]?.body).get('token')).toBe(token)
  })

  it("'always': an active answer makes an introspection result", async () => {
    const token = await mint(key, claims({ aud: P }))
    const auth = await introspecting(
      { status: 200, body: active() },
      {},
      { mode: 'always' },
    ).validate(token)
    expect(auth.source).toBe('introspection')
    expect(requests()).toBe(1)
  })
})
