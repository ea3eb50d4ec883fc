// RFC 7662 introspection against the real provider (opaque tokens, three client authentication
// methods, revocation, the cache) and against a fault server (what a real provider cannot do).
import { decodeJwt, decodeProtectedHeader, SignJWT, generateKeyPair, exportJWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  basicAuthorization,
  createValidator,
  type IntrospectionAuth,
  type TokenwardError,
  type ValidatorOptions,
} from '@tokenward/core'
import {
  startFaultServer,
  refusedUrl,
  type FaultServer,
} from '../../packages/core/test/support/fault-server.js'
import { startIssuer, zitadelShape, type TestIssuer } from '../support/issuer.js'

const PROJECT = '170086774599581953'
const APP = '170086824411201793@portal'
const ORG = '170086363054473473'

let issuer: TestIssuer

beforeAll(async () => {
  issuer = await startIssuer()
})
afterAll(async () => {
  await issuer.close()
})

async function rejection(promise: Promise<unknown>): Promise<TokenwardError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (error: unknown) => error as TokenwardError,
  )
}

const authMethods: [string, () => IntrospectionAuth][] = [
  [
    'client_secret_basic',
    () => ({ method: 'client_secret_basic', ...issuer.introspectionClients.basic }),
  ],
  [
    'client_secret_post',
    () => ({ method: 'client_secret_post', ...issuer.introspectionClients.post }),
  ],
  [
    'private_key_jwt',
    () => ({
      method: 'private_key_jwt',
      keyFile: issuer.introspectionClients.privateKeyJwt.keyFile,
    }),
  ],
]

function opaqueValidator(auth: IntrospectionAuth, extra: Partial<ValidatorOptions> = {}) {
  return createValidator({
    issuer: issuer.issuer,
    audience: { trusted: [APP, PROJECT], mode: 'strict', required: [PROJECT] },
    roles: { preset: 'zitadel', projectId: PROJECT },
    introspection: { auth },
    ...extra,
  })
}

function opaqueToken(
  roles: Record<string, Record<string, string>> = { reader: { [ORG]: 'acme.example' } },
) {
  const shape = zitadelShape({ projectId: PROJECT, clientIds: [APP], roles })
  return issuer.issueToken({ format: 'opaque', audience: shape.audience, claims: shape.claims })
}

describe('R-B3 opaque tokens are introspected at the discovered endpoint', () => {
  it.each(authMethods)(
    'accepts an active token with %s client authentication',
    async (_name, auth) => {
      const { token } = await opaqueToken()
      const result = await opaqueValidator(auth()).validate(token)
      expect(result.source).toBe('introspection')
      expect(result.audience).toEqual([APP, PROJECT])
      expect(result.issuer).toBe(issuer.issuer)
      expect(result.expiresAt).toBeInstanceOf(Date)
    },
  )

  it('reads both ZITADEL role claims on an introspection answer (they describe this API)', async () => {
    const { token } = await issuer.issueToken({
      format: 'opaque',
      audience: [APP, PROJECT],
      claims: { 'urn:zitadel:iam:org:project:roles': { admin: { [ORG]: 'acme.example' } } },
    })
    const result = await opaqueValidator(authMethods[0]![1]()).validate(token, { roles: ['admin'] })
    expect(result.roles).toEqual({ admin: [ORG] })
  })

  it('applies the audience policy to the answer: strict rejects an untrusted audience', async () => {
    const { token } = await issuer.issueToken({
      format: 'opaque',
      audience: [APP, PROJECT, 'other-project'],
    })
    const error = await rejection(opaqueValidator(authMethods[0]![1]()).validate(token))
    expect(error.code).toBe('untrusted_audience')
    expect(error.status).toBe(401)
  })

  it('answers token_inactive after the token is revoked', async () => {
    const { token } = await opaqueToken()
    const validator = opaqueValidator(authMethods[0]![1]())
    await validator.validate(token)
    await issuer.revoke(token)
    await validator.invalidate(token)
    const error = await rejection(validator.validate(token))
    expect(error.code).toBe('token_inactive')
    expect(error.status).toBe(401)
    expect(error.error).toBe('invalid_token')
  })

  it('sends a fresh private_key_jwt assertion (new jti) for every request', async () => {
    const validator = opaqueValidator(authMethods[2]![1]())
    const first = await opaqueToken()
    const second = await opaqueToken()
    await validator.validate(first.token)
    await validator.validate(second.token)
    // The provider rejects a replayed jti: two accepted requests prove two assertions.
    expect(issuer.requests.introspection).toBeGreaterThanOrEqual(2)
  })
})

describe('R-I8 the introspection cache', () => {
  it('makes exactly one endpoint call for 50 concurrent validations of one new token', async () => {
    const { token } = await opaqueToken()
    const validator = opaqueValidator(authMethods[0]![1]())
    issuer.resetRequests()
    const results = await Promise.all(Array.from({ length: 50 }, () => validator.validate(token)))
    expect(results).toHaveLength(50)
    expect(issuer.requests.introspection).toBe(1)
    await validator.validate(token)
    expect(issuer.requests.introspection).toBe(1)
  })

  it('never keeps an answer beyond the token exp', async () => {
    const { token } = await issuer.issueToken({
      format: 'opaque',
      audience: [PROJECT],
      expiresInSeconds: 2,
    })
    const validator = opaqueValidator(authMethods[0]![1](), { clockToleranceSeconds: 0 })
    issuer.resetRequests()
    await validator.validate(token)
    await validator.validate(token)
    expect(issuer.requests.introspection).toBe(1)
    await new Promise((resolve) => setTimeout(resolve, 2100))
    const error = await rejection(validator.validate(token))
    expect(error.code).toBe('token_inactive')
    expect(issuer.requests.introspection).toBe(2)
  })

  it('reports cache hits and misses through onEvent', async () => {
    const events: string[] = []
    const validator = opaqueValidator(authMethods[0]![1](), {
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
})

describe('a cached introspection answer is given without a promise', () => {
  it('authenticateNow returns the result itself on a hit, a promise on the miss before it', async () => {
    const validator = opaqueValidator(authMethods[0]![1]())
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

describe('TV-B1 client_secret_basic form-url-encodes both parts', () => {
  it('encodes the ZITADEL vector', () => {
    expect(basicAuthorization('78366401571920522@amce', 'veryweaksecret!')).toBe(
      'Basic NzgzNjY0MDE1NzE5MjA1MjIlNDBhbWNlOnZlcnl3ZWFrc2VjcmV0JTIx',
    )
  })
  it('encodes the RFC 9449 secret with a colon and a plus (TV-B2)', () => {
    expect(basicAuthorization('rs', 'rs:Mku-6g_lCzKIdz4fsN7kYcya+Ti')).toBe(
      'Basic cnM6cnMlM0FNa3UtNmdfbEN6S0lkejRmc043a1ljeWElMkJUaQ==',
    )
  })
})

describe('R-I4 a failed introspection is 503, never 401, and never cached', () => {
  let faults: FaultServer
  beforeAll(async () => {
    faults = await startFaultServer()
  })
  afterAll(async () => {
    await faults.close()
  })

  function faultValidator(path: string, extra: Partial<ValidatorOptions> = {}) {
    return createValidator({
      issuer: faults.url,
      audience: 'api',
      introspection: {
        endpoint: `${faults.url}${path}`,
        auth: { method: 'client_secret_basic', clientId: 'rs', clientSecret: 's' },
        timeoutMs: 200,
      },
      upstreamBackoff: { minSeconds: 0.05, maxSeconds: 0.05 },
      ...extra,
    })
  }

  it.each([
    ['HTTP 500', { status: 500, body: { error: 'server_error' } }],
    ['a body that is not JSON', 'garbage' as const],
    ['an answer over the size cap', { oversizedBytes: 2 * 1024 * 1024 }],
    ['a slow answer (timeout)', { delayMs: 1000, then: { status: 200, body: { active: true } } }],
    ['a reset connection', 'reset' as const],
    ['active as a string', { status: 200, body: { active: 'true' } }],
    ['no active member', { status: 200, body: { sub: 'x' } }],
    ['a JSON array', { status: 200, body: [{ active: true }] }],
  ])('%s is upstream_unavailable', async (name, behaviour) => {
    const path = `/introspect/${name.replace(/\W+/g, '-')}`
    faults.setRoute(path, behaviour)
    const validator = faultValidator(path)
    const started = Date.now()
    const error = await rejection(validator.validate('opaque-token-value'))
    expect(error.code).toBe('upstream_unavailable')
    expect(error.status).toBe(503)
    expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(1)
    expect(Date.now() - started).toBeLessThan(2000)
    // Not cached: after the back-off the endpoint is asked again.
    await new Promise((resolve) => setTimeout(resolve, 80))
    const before = faults.requestsTo(path).length
    await rejection(validator.validate('opaque-token-value'))
    expect(faults.requestsTo(path).length).toBe(before + 1)
  })

  it('a refused connection is upstream_unavailable', async () => {
    const url = await refusedUrl()
    const validator = createValidator({
      issuer: url,
      audience: 'api',
      introspection: {
        endpoint: `${url}/introspect`,
        auth: { method: 'client_secret_basic', clientId: 'rs', clientSecret: 's' },
      },
    })
    const error = await rejection(validator.validate('opaque-token-value'))
    expect(error.code).toBe('upstream_unavailable')
    expect(error.status).toBe(503)
  })

  it("ZITADEL's 400 unauthorized_client is logged as a misconfiguration and answered 503", async () => {
    faults.setRoute('/introspect/bad-client', {
      status: 400,
      body: { error: 'unauthorized_client' },
    })
    const logger = { warn: vi.fn(), error: vi.fn() }
    const error = await rejection(
      faultValidator('/introspect/bad-client', { logger }).validate('opaque-token'),
    )
    expect(error.code).toBe('upstream_unavailable')
    expect(error.status).toBe(503)
    expect(logger.error).toHaveBeenCalledOnce()
    expect(JSON.stringify(logger.error.mock.calls)).toContain('unauthorized_client')
    expect(JSON.stringify(logger.error.mock.calls)).not.toContain('opaque-token')
  })

  it('an inactive answer is token_inactive and cached only briefly', async () => {
    faults.setRoute('/introspect/inactive', { status: 200, body: { active: false } })
    const validator = faultValidator('/introspect/inactive', {
      introspection: {
        endpoint: `${faults.url}/introspect/inactive`,
        auth: { method: 'client_secret_basic', clientId: 'rs', clientSecret: 's' },
        cache: { negativeTtlSeconds: 0.2 },
      },
    })
    const error = await rejection(validator.validate('revoked-token'))
    expect(error.code).toBe('token_inactive')
    await rejection(validator.validate('revoked-token'))
    expect(faults.requestsTo('/introspect/inactive')).toHaveLength(1)
    await new Promise((resolve) => setTimeout(resolve, 250))
    await rejection(validator.validate('revoked-token'))
    expect(faults.requestsTo('/introspect/inactive')).toHaveLength(2)
  })

  it('an active answer without aud is invalid_audience unless audienceOptional', async () => {
    const exp = Math.floor(Date.now() / 1000) + 60
    faults.setRoute('/introspect/no-aud', { status: 200, body: { active: true, sub: 'u', exp } })
    const strict = faultValidator('/introspect/no-aud')
    const error = await rejection(strict.validate('token-without-aud'))
    expect(error.code).toBe('invalid_audience')
    const optional = faultValidator('/introspect/no-aud', {
      introspection: {
        endpoint: `${faults.url}/introspect/no-aud`,
        auth: { method: 'client_secret_basic', clientId: 'rs', clientSecret: 's' },
        audienceOptional: true,
      },
    })
    const result = await optional.validate('token-without-aud')
    expect(result.subject).toBe('u')
    expect(result.audience).toEqual([])
  })

  it('sends token, token_type_hint and the Basic header as a form POST', async () => {
    faults.setRoute('/introspect/form', { status: 200, body: { active: false } })
    await rejection(faultValidator('/introspect/form').validate('abc-123'))
    const [request] = faults.requestsTo('/introspect/form')
    expect(request?.method).toBe('POST')
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded')
    expect(request?.headers.authorization).toBe(basicAuthorization('rs', 's'))
    expect(new URLSearchParams(request?.body)).toEqual(
      new URLSearchParams({ token: 'abc-123', token_type_hint: 'access_token' }),
    )
  })

  it('builds the private_key_jwt assertion ZITADEL expects (RS256, kid, iss = sub = client, aud = issuer)', async () => {
    faults.setRoute('/introspect/pkjwt', { status: 200, body: { active: false } })
    const keyFile = issuer.introspectionClients.privateKeyJwt.keyFile
    const validator = faultValidator('/introspect/pkjwt', {
      introspection: {
        endpoint: `${faults.url}/introspect/pkjwt`,
        auth: { method: 'private_key_jwt', keyFile },
        cache: { negativeTtlSeconds: 0 },
      },
    })
    await rejection(validator.validate('token-one'))
    await rejection(validator.validate('token-two'))
    const assertions = faults
      .requestsTo('/introspect/pkjwt')
      .map((request) => new URLSearchParams(request.body).get('client_assertion')!)
    expect(assertions).toHaveLength(2)
    const [first, second] = assertions.map((jwt) => ({
      header: decodeProtectedHeader(jwt),
      claims: decodeJwt(jwt),
    }))
    expect(first?.header).toMatchObject({ alg: 'RS256', kid: keyFile.keyId })
    expect(first?.claims).toMatchObject({
      iss: keyFile.clientId,
      sub: keyFile.clientId,
      aud: faults.url,
    })
    expect(first!.claims.exp! - first!.claims.iat!).toBeLessThanOrEqual(60)
    expect(first?.claims.jti).not.toBe(second?.claims.jti)
    const body = new URLSearchParams(faults.requestsTo('/introspect/pkjwt')[0]!.body)
    expect(body.get('client_assertion_type')).toBe(
      'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    )
  })
})

describe("R-B4 mode 'always': JWTs are verified locally, then introspected", () => {
  let faults: FaultServer
  let sign: (claims: Record<string, unknown>) => Promise<string>
  let jwk: Record<string, unknown>
  beforeAll(async () => {
    faults = await startFaultServer()
    const { privateKey, publicKey } = await generateKeyPair('RS256')
    jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' }
    sign = (claims) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer(faults.url)
        .setAudience('api')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey)
  })
  afterAll(async () => {
    await faults.close()
  })

  function alwaysValidator(path: string) {
    return createValidator({
      issuer: faults.url,
      audience: 'api',
      jwks: { keys: [jwk] },
      introspection: {
        endpoint: `${faults.url}${path}`,
        auth: { method: 'client_secret_basic', clientId: 'rs', clientSecret: 's' },
        mode: 'always',
      },
    })
  }

  it('a revoked JWT is token_inactive', async () => {
    faults.setRoute('/always/revoked', { status: 200, body: { active: false } })
    const error = await rejection(
      alwaysValidator('/always/revoked').validate(await sign({ sub: 'u' })),
    )
    expect(error.code).toBe('token_inactive')
    expect(faults.requestsTo('/always/revoked')).toHaveLength(1)
  })

  it('a JWT that fails locally is never sent to introspection', async () => {
    faults.setRoute('/always/never', { status: 200, body: { active: true } })
    const token = await sign({ sub: 'u' })
    const tampered = `${token.slice(0, -4)}AAAA`
    const error = await rejection(alwaysValidator('/always/never').validate(tampered))
    expect(error.code).toBe('invalid_signature')
    expect(faults.requestsTo('/always/never')).toHaveLength(0)
  })

  it('an active JWT gets source introspection', async () => {
    const exp = Math.floor(Date.now() / 1000) + 300
    faults.setRoute('/always/active', {
      status: 200,
      body: { active: true, sub: 'u', aud: 'api', iss: faults.url, exp, scope: 'read' },
    })
    const result = await alwaysValidator('/always/active').validate(await sign({ sub: 'u' }), {
      scopes: ['read'],
    })
    expect(result.source).toBe('introspection')
    expect(result.scopes).toEqual(['read'])
  })
})
