// RFC 7662 token introspection, one describe per rule: the request and client authentication, what
// an answer means, the checks on an active answer, the answer cache, mode 'always', and failures
// (503, never 401, never cached). The real OpenID Provider (test/support/issuer.ts) wherever it
// can produce the case; the fault server (packages/core/test/support/fault-server.ts) for what it
// cannot: a chosen answer body, a recorded request, a broken endpoint. The fault server's answers
// are dated NOW, so the tests that use them freeze the clock there first (freezeTime()).
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto'
import { decodeProtectedHeader, jwtVerify } from 'jose'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  basicAuthorization,
  createValidator,
  formUrlEncode,
  type IntrospectionAuth,
  type IntrospectionOptions,
  type Validator,
  type ValidatorOptions,
} from '@tokenward/core'
import {
  refusedUrl,
  startFaultServer,
  type FaultBehaviour,
  type FaultRoute,
  type FaultServer,
} from '../../packages/core/test/support/fault-server.js'
import { listen } from '../../packages/core/test/support/listen.js'
import {
  ISSUER,
  NOW,
  claims,
  createKey,
  expectFailure,
  expectNotLogged,
  expectUnavailable,
  freezeTime,
  mint,
  rejection,
  spyLogger,
  type TestKey,
} from '../../packages/core/test/support/tokens.js'
import {
  startIssuer,
  zitadelShape,
  type TestIssuer,
  type ZitadelKeyFile,
} from '../support/issuer.js'

const PROJECT = '170086774599581953'
const APP1 = '170086824411201793@portal'
const APP2 = '209806276543185153@portal'
const ORG = '170086363054473473'
const OPAQUE = 'VjVxyCZmRmWYqd3_F5db9Pb9mHR5fqzhn'
const BASIC: IntrospectionAuth = {
  method: 'client_secret_basic',
  clientId: '78366401571920522@amce',
  clientSecret: 'veryweaksecret!',
}
const FAST_BACKOFF = { minSeconds: 0.05, maxSeconds: 0.05 }

let issuer: TestIssuer
let faults: FaultServer
let key: TestKey

beforeAll(async () => {
  ;[issuer, faults, key] = await Promise.all([startIssuer(), startFaultServer(), createKey()])
})
afterAll(async () => {
  await Promise.all([issuer.close(), faults.close()])
})
beforeEach(() => {
  faults.clearRequests()
})
afterEach(() => {
  vi.useRealTimers()
})

// --- The real provider ---------------------------------------------------------------------------

/** The provider's introspection client for `method`. */
function providerAuth(method: IntrospectionAuth['method']): IntrospectionAuth {
  const clients = issuer.introspectionClients
  switch (method) {
    case 'client_secret_basic':
      return { method, ...clients.basic }
    case 'client_secret_post':
      return { method, ...clients.post }
    case 'private_key_jwt':
      return { method, keyFile: clients.privateKeyJwt.keyFile }
  }
}

/** ZITADEL-like (strict audience, project roles), introspecting at the discovered endpoint. */
function providerValidator(
  options: Partial<ValidatorOptions> = {},
  method: IntrospectionAuth['method'] = 'client_secret_basic',
): Validator {
  return createValidator({
    issuer: issuer.issuer,
    audience: { trusted: [APP1, PROJECT], mode: 'strict', required: [PROJECT] },
    roles: { preset: 'zitadel', projectId: PROJECT },
    introspection: { auth: providerAuth(method) },
    ...options,
  })
}

/** A ZITADEL-shaped opaque token from the provider's token endpoint. */
function opaqueToken(
  roles: Record<string, Record<string, string>> = { reader: { [ORG]: 'acme.example' } },
) {
  const shape = zitadelShape({ projectId: PROJECT, clientIds: [APP1], roles })
  return issuer.issueToken({ format: 'opaque', audience: shape.audience, claims: shape.claims })
}

// --- The fault server as the introspection endpoint ----------------------------------------------

const PATH = '/introspect'

/** An active answer for this API, ZITADEL-shaped, dated NOW. */
function active(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    active: true,
    scope: `openid profile urn:zitadel:iam:org:project:id:${PROJECT}:aud`,
    client_id: APP1,
    token_type: 'Bearer',
    exp: NOW + 3600,
    iat: NOW,
    nbf: NOW,
    aud: [APP1, APP2, PROJECT],
    iss: ISSUER,
    jti: 'V2_1-at_2',
    sub: '170848145649959169',
    'urn:zitadel:iam:org:project:roles': { reader: { [ORG]: 'demo-customer.example' } },
    [`urn:zitadel:iam:org:project:${PROJECT}:roles`]: {
      reader: { [ORG]: 'demo-customer.example' },
    },
    ...extra,
  }
}

/** A validator whose introspection endpoint gives `answer` (JWTs checked with a static key). */
function introspecting(
  answer: FaultRoute,
  options: Partial<ValidatorOptions> = {},
  introspection: Partial<IntrospectionOptions> = {},
): Validator {
  faults.setRoute(PATH, answer)
  return createValidator({
    issuer: ISSUER,
    audience: { trusted: [APP1, APP2, PROJECT], required: [PROJECT] },
    roles: 'zitadel',
    jwks: { keys: [key.publicJwk] },
    introspection: { endpoint: `${faults.url}${PATH}`, auth: BASIC, ...introspection },
    ...options,
  })
}

/** Requests the fault server's introspection endpoint received in this test. */
const requests = (): number => faults.requestsTo(PATH).length

/** An EC key file of our own (the provider's is RSA). */
function ecKeyFile(): ZitadelKeyFile {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return {
    type: 'application',
    keyId: '81693565968962154',
    key: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    clientId: '78366401571920522@acme',
    appId: '1',
  }
}

// -------------------------------------------------------------------------------------------------

describe('the request and client authentication (RFC 7662 §2.1, RFC 6749 §2.3, RFC 7523)', () => {
  it.each(['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const)(
    'the provider accepts %s client authentication: an active token is valid',
    async (method) => {
      const { token } = await opaqueToken()
      const result = await providerValidator({}, method).validate(token)
      expect(result.source).toBe('introspection')
      expect(result.audience).toEqual([APP1, PROJECT])
      expect(result.issuer).toBe(issuer.issuer)
      expect(result.expiresAt).toBeInstanceOf(Date)
    },
  )

  it.each([
    [
      'the ZITADEL example',
      '78366401571920522@amce',
      'veryweaksecret!',
      'Basic NzgzNjY0MDE1NzE5MjA1MjIlNDBhbWNlOnZlcnl3ZWFrc2VjcmV0JTIx',
    ],
    [
      'the RFC 9449 secret with a colon and a plus',
      'rs',
      'rs:Mku-6g_lCzKIdz4fsN7kYcya+Ti',
      'Basic cnM6cnMlM0FNa3UtNmdfbEN6S0lkejRmc043a1ljeWElMkJUaQ==',
    ],
    [
      'spaces and reserved characters',
      'my client',
      'p@ss w+rd~*',
      'Basic bXkrY2xpZW50OnAlNDBzcyt3JTJCcmQlN0Uq',
    ],
  ])(
    'client_secret_basic form-url-encodes both parts (%s): basicAuthorization(%j, %j)',
    (_, id, secret, header) => {
      expect(basicAuthorization(id, secret)).toBe(header)
    },
  )

  it('formUrlEncode is the WHATWG form serializer', () => {
    expect(formUrlEncode('my client')).toBe('my+client')
    expect(formUrlEncode('p@ss w+rd~*')).toBe('p%40ss+w%2Brd%7E*')
  })

  it('client_secret_basic: a form POST of the token and its hint only, with the Basic header', async () => {
    freezeTime()
    await introspecting({ status: 200, body: active() }).validate(OPAQUE)
    const [request] = faults.requestsTo(PATH)
    expect(request?.method).toBe('POST')
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded')
    expect(request?.headers.accept).toBe('application/json')
    expect(request?.headers.authorization).toBe(
      'Basic NzgzNjY0MDE1NzE5MjA1MjIlNDBhbWNlOnZlcnl3ZWFrc2VjcmV0JTIx',
    )
    expect(new URLSearchParams(request?.body)).toEqual(
      new URLSearchParams({ token: OPAQUE, token_type_hint: 'access_token' }),
    )
  })

  it('client_secret_post: the credentials in the form, no Authorization header', async () => {
    freezeTime()
    const auth: IntrospectionAuth = {
      method: 'client_secret_post',
      clientId: 'api',
      clientSecret: 's3cret',
    }
    await introspecting({ status: 200, body: active() }, {}, { auth }).validate(OPAQUE)
    const [request] = faults.requestsTo(PATH)
    expect(request?.headers.authorization).toBeUndefined()
    const form = new URLSearchParams(request?.body)
    expect([form.get('client_id'), form.get('client_secret'), form.get('token')]).toEqual([
      'api',
      's3cret',
      OPAQUE,
    ])
  })

  it.each<[string, string, () => ZitadelKeyFile]>([
    ['an EC key', 'ES256', ecKeyFile],
    [
      "the provider's RSA key file",
      'RS256',
      () => issuer.introspectionClients.privateKeyJwt.keyFile,
    ],
  ])(
    'private_key_jwt with %s: a fresh %s assertion (new jti) per request, iss = sub = client, aud = issuer',
    async (_, alg, keyFileOf) => {
      freezeTime()
      const keyFile = keyFileOf()
      const validator = introspecting(
        { status: 200, body: active() },
        {},
        { auth: { method: 'private_key_jwt', keyFile } },
      )
      await validator.validate(OPAQUE)
      await validator.validate(`${OPAQUE}2`)
      const assertions = faults.requestsTo(PATH).map((request) => {
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
          jwtVerify(assertion, createPublicKey(keyFile.key), {
            issuer: keyFile.clientId,
            subject: keyFile.clientId,
            audience: ISSUER,
          }),
        ),
      )
      for (const { payload } of verified) {
        expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(60)
        expect(payload.iat).toBe(NOW)
      }
      expect(verified[0]?.payload.jti).toBeTypeOf('string')
      expect(verified[0]?.payload.jti).not.toBe(verified[1]?.payload.jti)
      expect(decodeProtectedHeader(assertions[0]!)).toMatchObject({ alg, kid: keyFile.keyId })
    },
  )
})

describe('what an answer means (RFC 7662 §2.2: active === true proceeds)', () => {
  it('an active answer is an introspection result with its scopes, roles, subject and client', async () => {
    freezeTime()
    const auth = await introspecting({ status: 200, body: active() }).validate(OPAQUE)
    expect(auth.source).toBe('introspection')
    expect(auth.token).toBe(OPAQUE)
    expect(auth.scopes).toEqual([
      'openid',
      'profile',
      `urn:zitadel:iam:org:project:id:${PROJECT}:aud`,
    ])
    expect(auth.roles).toEqual({ reader: [ORG] })
    expect(auth.subject).toBe('170848145649959169')
    expect(auth.clientId).toBe(APP1)
    expect(auth.audience).toEqual([APP1, APP2, PROJECT])
    expect(auth.expiresAt).toEqual(new Date((NOW + 3600) * 1000))
  })

  it('reads both ZITADEL role claims on an answer (they describe this API)', async () => {
    const { token } = await issuer.issueToken({
      format: 'opaque',
      audience: [APP1, PROJECT],
      claims: { 'urn:zitadel:iam:org:project:roles': { admin: { [ORG]: 'acme.example' } } },
    })
    const result = await providerValidator().validate(token, { roles: ['admin'] })
    expect(result.roles).toEqual({ admin: [ORG] })
  })

  it('active: false (a revoked token) is token_inactive', async () => {
    const { token } = await opaqueToken()
    const validator = providerValidator()
    await validator.validate(token)
    await issuer.revoke(token)
    await validator.invalidate(token)
    expectFailure(await rejection(validator.validate(token)), 'token_inactive', 401)
  })
})

describe('a refresh token is never a bearer token (RFC 6749 §1.5)', () => {
  it('a real refresh token, introspected, is refused: the provider marks no type, its answer has no aud', async () => {
    // oidc-provider answers a refresh token without token_type (an access token's answer says
    // Bearer), so the token-type rule cannot see it; the audience policy refuses it instead. An
    // issuer whose refresh-token answers carry token_type is refused by type (the trust suite).
    const { token } = await issuer.issueRefreshToken()
    expect(await issuer.introspect(token)).not.toHaveProperty('token_type')
    const error = await rejection(providerValidator().validate(token))
    expectFailure(error, 'invalid_audience', 401)
  })
})

describe('checks on an active answer', () => {
  it.each<[string, string, Record<string, unknown>]>([
    ['another iss', 'invalid_issuer', { iss: `${ISSUER}/` }],
    ['exp passed', 'token_expired', { exp: NOW - 60 }],
    ['nbf in the future', 'token_not_yet_valid', { nbf: NOW + 60 }],
    ['iat in the future', 'token_not_yet_valid', { iat: NOW + 60 }],
    ['no aud', 'invalid_audience', { aud: undefined }],
    ['an aud without the required project', 'invalid_audience', { aud: [APP1] }],
  ])('%s → %s', async (_, code, change) => {
    freezeTime()
    const validator = introspecting({ status: 200, body: active(change) })
    expectFailure(await rejection(validator.validate(OPAQUE)), code, 401)
  })

  it('no aud is accepted with introspection.audienceOptional', async () => {
    freezeTime()
    const validator = introspecting(
      { status: 200, body: active({ aud: undefined }) },
      {},
      { audienceOptional: true },
    )
    const auth = await validator.validate(OPAQUE)
    expect(auth.audience).toEqual([])
    expect(auth.subject).toBe('170848145649959169')
  })

  it('the audience policy applies to answers: strict rejects an untrusted audience, naming it', async () => {
    const { token } = await issuer.issueToken({
      format: 'opaque',
      audience: [APP1, PROJECT, 'other-project'],
    })
    const error = await rejection(providerValidator().validate(token))
    expectFailure(error, 'untrusted_audience', 401)
    expect(error.description).toContain('other-project')
  })
})

describe('the answer cache', () => {
  it('makes exactly one endpoint call for 50 concurrent validations of one new token', async () => {
    const { token } = await opaqueToken()
    const validator = providerValidator()
    issuer.resetRequests()
    const results = await Promise.all(Array.from({ length: 50 }, () => validator.validate(token)))
    expect(results).toHaveLength(50)
    expect(issuer.requests.introspection).toBe(1)
    await validator.validate(token)
    expect(issuer.requests.introspection).toBe(1)
  })

  it('only the answer is cached, not the decision: requirements are checked on every hit', async () => {
    const { token } = await opaqueToken({ reader: { [ORG]: 'acme.example' } })
    const validator = providerValidator()
    issuer.resetRequests()
    await validator.validate(token, { roles: ['reader'] })
    expectFailure(
      await rejection(validator.validate(token, { roles: ['admin'] })),
      'insufficient_role',
      403,
    )
    expect(issuer.requests.introspection).toBe(1)
  })

  it('a cached answer is re-checked for exp on every hit', async () => {
    freezeTime()
    const validator = introspecting(
      { status: 200, body: active({ exp: NOW + 30 }) },
      { clockToleranceSeconds: 0 },
    )
    await validator.validate(OPAQUE)
    vi.setSystemTime((NOW + 30) * 1000)
    expectFailure(await rejection(validator.validate(OPAQUE)), 'token_expired', 401)
  })

  it('never keeps an answer beyond the token exp', async () => {
    const { token } = await issuer.issueToken({
      format: 'opaque',
      audience: [PROJECT],
      expiresInSeconds: 2,
    })
    const validator = providerValidator({ clockToleranceSeconds: 0 })
    issuer.resetRequests()
    await validator.validate(token)
    await validator.validate(token)
    expect(issuer.requests.introspection).toBe(1)
    await new Promise((resolve) => setTimeout(resolve, 2100))
    const error = await rejection(validator.validate(token))
    expect(error.code).toBe('token_inactive')
    expect(issuer.requests.introspection).toBe(2)
  })

  it('an inactive answer is cached too, for introspection.cache.negativeTtlSeconds only', async () => {
    const unknown = `never-issued-${randomBytes(16).toString('base64url')}`
    const cached = providerValidator()
    issuer.resetRequests()
    expectFailure(await rejection(cached.validate(unknown)), 'token_inactive', 401)
    expectFailure(await rejection(cached.validate(unknown)), 'token_inactive', 401)
    expect(issuer.requests.introspection).toBe(1)

    const brief = providerValidator({
      introspection: {
        auth: providerAuth('client_secret_basic'),
        cache: { negativeTtlSeconds: 0.2 },
      },
    })
    issuer.resetRequests()
    const error = await rejection(brief.validate(unknown))
    expect(error.code).toBe('token_inactive')
    await rejection(brief.validate(unknown))
    expect(issuer.requests.introspection).toBe(1)
    await new Promise((resolve) => setTimeout(resolve, 250))
    await rejection(brief.validate(unknown))
    expect(issuer.requests.introspection).toBe(2)
  })

  it('invalidate(token) forgets the answer', async () => {
    const { token } = await opaqueToken()
    const validator = providerValidator()
    issuer.resetRequests()
    await validator.validate(token)
    await validator.invalidate(token)
    await validator.validate(token)
    expect(issuer.requests.introspection).toBe(2)
  })

  it('reports cache hits and misses through onEvent', async () => {
    const events: string[] = []
    const validator = providerValidator({
      // The answer cache alone: with the token cache, the second use never gets this far.
      tokenCache: false,
      onEvent: (event) => {
        if (event.type === 'cache_hit' || event.type === 'cache_miss')
          events.push(`${event.type}:${event.cache}`)
      },
    })
    const { token } = await opaqueToken()
    await validator.validate(token)
    await validator.validate(token)
    expect(events).toEqual(['cache_miss:introspection', 'cache_hit:introspection'])
  })

  it('authenticateNow returns the result itself on a hit, a promise on the miss before it', async () => {
    const validator = providerValidator()
    const { token } = await opaqueToken()
    issuer.resetRequests()
    const first = validator.authenticateNow(`Bearer ${token}`)
    expect(first).toBeInstanceOf(Promise)
    const result = await first
    expect(result.source).toBe('introspection')
    expect(validator.authenticateNow(`Bearer ${token}`)).toBe(result)
    expect(issuer.requests.introspection).toBe(1)
  })
})

describe("mode 'always': a JWT is checked locally, then introspected too", () => {
  it("'opaque' (the default): a valid JWT is verified locally, not introspected", async () => {
    freezeTime()
    const auth = await introspecting({ status: 200, body: { active: false } }).validate(
      await mint(key, claims({ aud: PROJECT })),
    )
    expect(auth.source).toBe('jwt')
    expect(requests()).toBe(0)
  })

  it.each(['opaque', 'always'] as const)(
    "'%s': a JWT that fails local validation is never sent to introspection",
    async (mode) => {
      freezeTime()
      const forged = await mint(await createKey('ES256', key.kid), claims({ aud: PROJECT }))
      const validator = introspecting({ status: 200, body: active() }, {}, { mode })
      expectFailure(await rejection(validator.validate(forged)), 'invalid_signature', 401)
      expect(requests()).toBe(0)
    },
  )

  it("'always': a valid JWT is introspected too; active: false is token_inactive", async () => {
    freezeTime()
    const token = await mint(key, claims({ aud: PROJECT }))
    const validator = introspecting(
      { status: 200, body: { active: false } },
      {},
      { mode: 'always' },
    )
    expectFailure(await rejection(validator.validate(token)), 'token_inactive', 401)
    expect(requests()).toBe(1)
    expect(new URLSearchParams(faults.requestsTo(PATH)[0]?.body).get('token')).toBe(token)
  })

  it("'always': an active answer makes an introspection result with the answer's scopes", async () => {
    freezeTime()
    const token = await mint(key, claims({ aud: PROJECT }))
    const auth = await introspecting(
      { status: 200, body: active() },
      {},
      { mode: 'always' },
    ).validate(token, { scopes: ['profile'] })
    expect(auth.source).toBe('introspection')
    expect(auth.scopes).toEqual([
      'openid',
      'profile',
      `urn:zitadel:iam:org:project:id:${PROJECT}:aud`,
    ])
    expect(requests()).toBe(1)
  })
})

// Node's own HTTP client by default; `fetch` (the Web build's way) when the option is given.
const TRANSPORTS: [string, Partial<ValidatorOptions>][] = [
  ["the runtime's HTTP client", {}],
  ['a fetch option', { fetch: (input, init) => globalThis.fetch(input, init) }],
]

describe.each(TRANSPORTS)(
  'failures are 503, never 401, and never cached (%s)',
  (_name, transport) => {
    it.each<[string, FaultBehaviour]>([
      ['HTTP 500', { status: 500, body: { error: 'server_error' } }],
      ['HTTP 429 (slow down)', { status: 429, body: { error: 'slow_down' } }],
      [
        'HTTP 400 unauthorized_client (a misconfigured client)',
        { status: 400, body: { error: 'unauthorized_client' } },
      ],
      ['HTTP 401 (bad client credentials)', { status: 401, body: { error: 'invalid_client' } }],
      ['a body that is not JSON', 'garbage'],
      ['a JSON array', { status: 200, body: [{ active: true }] }],
      ['no active member', { status: 200, body: { sub: 'x' } }],
      ['active: "true" (a string)', { status: 200, body: active({ active: 'true' }) }],
      ['active: 1', { status: 200, body: active({ active: 1 }) }],
      ['an answer over the size cap (2 MiB)', { oversizedBytes: 2 * 1024 * 1024 }],
      [
        'a slow answer (past introspection.timeoutMs)',
        { delayMs: 1500, then: { status: 200, body: active() } },
      ],
      ['no answer at all', 'hang'],
      ['a reset connection', 'reset'],
    ])(
      '%s: 503 fast, the token not logged, and asked again after the back-off',
      async (_, answer) => {
        const logger = spyLogger()
        const validator = introspecting(
          answer,
          { logger, upstreamBackoff: FAST_BACKOFF, ...transport },
          { timeoutMs: 200 },
        )
        const token = `opaque-${randomBytes(16).toString('base64url')}`
        const started = Date.now()
        expectUnavailable(await rejection(validator.validate(token)))
        expect(Date.now() - started).toBeLessThan(1000)
        // Not cached: after the back-off the endpoint is asked again.
        await new Promise((resolve) => setTimeout(resolve, 80))
        const before = requests()
        expectUnavailable(await rejection(validator.validate(token)))
        expect(requests()).toBe(before + 1)
        expectNotLogged(logger, token)
      },
    )

    it('a refused connection: 503', async () => {
      const url = await refusedUrl()
      const validator = createValidator({
        issuer: url,
        audience: 'api',
        introspection: { endpoint: `${url}/introspect`, auth: BASIC },
        ...transport,
      })
      expectUnavailable(await rejection(validator.validate('opaque-token-value')))
    })

    it('an active answer: the introspection result', async () => {
      freezeTime()
      const validator = introspecting({ status: 200, body: active() }, transport)
      const auth = await validator.validate(`opaque-${randomBytes(16).toString('base64url')}`)
      expect([auth.source, auth.subject]).toEqual(['introspection', '170848145649959169'])
    })
  },
)

describe('kept-alive connections to the issuer', () => {
  it('a connection the issuer drops as it is reused: asked again on a new one, not a 503', async () => {
    freezeTime()
    // Answers the first request of each connection; resets a connection when it is reused, as
    // a server closing an idle connection at that very moment does.
    const served = new WeakSet<object>()
    const issuerEndpoint = await listen((req, res) => {
      if (served.has(req.socket)) {
        req.socket.destroy()
        return
      }
      served.add(req.socket)
      req.resume()
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify(active()))
    })
    try {
      const validator = createValidator({
        issuer: ISSUER,
        audience: { trusted: [APP1, APP2, PROJECT], required: [PROJECT] },
        jwks: { keys: [key.publicJwk] },
        introspection: { endpoint: `${issuerEndpoint.url}/introspect`, auth: BASIC },
      })
      for (let i = 0; i < 3; i++) {
        const auth = await validator.validate(`opaque-${randomBytes(16).toString('base64url')}`)
        expect(auth.source).toBe('introspection')
      }
    } finally {
      await issuerEndpoint.close()
    }
  })
})

describe('failures are 503, never 401, and never cached', () => {
  it('a rejected client (400) is logged at error level, without the token, and never cached', async () => {
    freezeTime()
    const logger = spyLogger()
    const validator = introspecting(
      [
        { status: 400, body: { error: 'unauthorized_client' } },
        { status: 200, body: active() },
      ],
      { logger, upstreamBackoff: { minSeconds: 1, maxSeconds: 1 } },
    )
    expectFailure(await rejection(validator.validate(OPAQUE)), 'upstream_unavailable', 503)
    expect(logger.error).toHaveBeenCalledTimes(1)
    expect(JSON.stringify(logger.error.mock.calls)).toContain('unauthorized_client')
    expect(JSON.stringify(logger.error.mock.calls)).not.toContain(OPAQUE)
    // Within the back-off: 503 at once, no request.
    expectFailure(await rejection(validator.validate(OPAQUE)), 'upstream_unavailable', 503)
    expect(requests()).toBe(1)
    // After it: asked again (the failure was not cached).
    vi.setSystemTime((NOW + 2) * 1000)
    expect((await validator.validate(OPAQUE)).source).toBe('introspection')
    expect(requests()).toBe(2)
  })

  it.each(['status', 'reset'] as const)(
    'the real issuer down (%s): 503 for an opaque token, discovered or configured endpoint; then recovery',
    async (mode) => {
      const flaky = await startIssuer()
      try {
        const { token } = await flaky.issueToken({ format: 'opaque' })
        const auth = {
          method: 'client_secret_basic' as const,
          ...flaky.introspectionClients.basic,
        }
        const logger = spyLogger()
        const discovered = createValidator({
          issuer: flaky.issuer,
          audience: flaky.resource,
          introspection: { auth },
          upstreamBackoff: FAST_BACKOFF,
          logger,
        })
        const configured = createValidator({
          issuer: flaky.issuer,
          audience: flaky.resource,
          introspection: { auth, endpoint: flaky.introspectionEndpoint },
          upstreamBackoff: FAST_BACKOFF,
          logger,
        })
        flaky.setDown(true, mode)
        expectUnavailable(await rejection(discovered.validate(token)))
        expectUnavailable(await rejection(configured.validate(token)))
        flaky.setDown(false)
        await new Promise((resolve) => setTimeout(resolve, 80))
        expect((await discovered.validate(token)).source).toBe('introspection')
        expect((await configured.validate(token)).source).toBe('introspection')
        expectNotLogged(logger, token)
      } finally {
        await flaky.close()
      }
    },
  )
})
