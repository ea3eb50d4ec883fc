// The error table (README, "Error codes"): every code's status, RFC 6750 error and challenge (RFC 6750 §3.1);
// `toHttpResponse` (a JSON body with `Cache-Control: no-store`); the challenge's format and escaping
// (RFC 6750 §3); descriptions that never carry the token (RFC 6750 §5.3: keep bearer tokens from
// unintended parties).
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  ERROR_CODES,
  TokenwardError,
  createValidator,
  toHttpResponse,
  type TokenwardErrorCode,
  type TokenwardEvent,
} from '@tokenward/core'
import { refusedUrl } from './support/fault-server.js'
import {
  AUDIENCE,
  ISSUER,
  NOW,
  claims,
  createKey,
  expectFailure,
  freezeTime,
  mint,
  rejection,
  signRaw,
  thrown,
  unsigned,
  validatorFor,
  type TestKey,
} from './support/tokens.js'

let key: TestKey
let otherKey: TestKey

beforeAll(async () => {
  key = await createKey()
  otherKey = await createKey('ES256', 'key-1')
})
beforeEach(() => {
  freezeTime()
})
afterEach(() => {
  vi.useRealTimers()
})

/** The documented table: code, HTTP status, RFC 6750 error. */
const ERROR_TABLE: readonly [TokenwardErrorCode, number, string | undefined][] = [
  ['missing_token', 401, undefined],
  ['invalid_request', 400, 'invalid_request'],
  ['malformed_token', 401, 'invalid_token'],
  ['alg_not_allowed', 401, 'invalid_token'],
  ['unknown_key', 401, 'invalid_token'],
  ['invalid_signature', 401, 'invalid_token'],
  ['token_expired', 401, 'invalid_token'],
  ['token_not_yet_valid', 401, 'invalid_token'],
  ['invalid_issuer', 401, 'invalid_token'],
  ['invalid_audience', 401, 'invalid_token'],
  ['untrusted_audience', 401, 'invalid_token'],
  ['unauthorized_party', 401, 'invalid_token'],
  ['invalid_token_type', 401, 'invalid_token'],
  ['token_inactive', 401, 'invalid_token'],
  ['insufficient_scope', 403, 'insufficient_scope'],
  ['insufficient_role', 403, 'insufficient_scope'],
  ['upstream_unavailable', 503, undefined],
]

/** RFC 6750 §3: error and error_description values use only %x20-21 / %x23-5B / %x5D-7E. */
const QUOTED = '[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]*'

describe('the documented error codes: status, RFC 6750 error and HTTP response of every code', () => {
  it.each(ERROR_TABLE)('%s is %i with error %s', (code, status, bearerError) => {
    expect(ERROR_CODES[code]).toMatchObject({ status, error: bearerError })
    const error = new TokenwardError(code)
    expect({ code: error.code, status: error.status, error: error.error }).toEqual({
      code,
      status,
      error: bearerError,
    })
    const response = toHttpResponse(error)
    expect(response.status).toBe(status)
    expect(response.headers['cache-control']).toBe('no-store')
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    if (status === 503) {
      // A 503 is no authentication failure, so no challenge; Retry-After (RFC 9110 §10.2.3) says
      // when the issuer is tried again.
      expect(response.headers).not.toHaveProperty('www-authenticate')
      expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1)
      expect(response.body).toEqual({ error_description: error.description, code })
    } else if (bearerError === undefined) {
      // No credentials → a challenge without error attributes (RFC 6750 §3.1).
      expect(response.headers['www-authenticate']).toBe('Bearer realm="api"')
      expect(response.headers).not.toHaveProperty('retry-after')
      expect(response.body).toEqual({ error_description: error.description, code })
    } else {
      expect(response.headers['www-authenticate']).toBe(
        `Bearer realm="api", error="${bearerError}", error_description="${error.description}"`,
      )
      expect(response.headers).not.toHaveProperty('retry-after')
      expect(response.body).toEqual({
        error: bearerError,
        error_description: error.description,
        code,
      })
    }
    expect(Object.values(response.body)).not.toContain(undefined)
  })

  it('the 503 Retry-After is the seconds until the issuer is tried again', () => {
    const response = toHttpResponse(
      new TokenwardError('upstream_unavailable', { retryAfterSeconds: 7 }),
    )
    expect(response.headers['retry-after']).toBe('7')
  })

  it('an unreachable JWKS is a 503 with Retry-After and no challenge, never a 401', async () => {
    vi.useRealTimers()
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: `${await refusedUrl()}/jwks`,
      upstreamBackoff: { minSeconds: 5, maxSeconds: 5 },
    })
    const token = await mint(
      key,
      claims({ iat: undefined, exp: Math.floor(Date.now() / 1000) + 60 }),
    )
    const error = await rejection(validator.validate(token))
    expectFailure(error, 'upstream_unavailable', 503)
    const response = toHttpResponse(error)
    expect(response.status).toBe(503)
    expect(response.headers).not.toHaveProperty('www-authenticate')
    expect(response.headers['retry-after']).toBe('5')
    expect(response.headers['cache-control']).toBe('no-store')
    expect(response.body).toEqual({
      error_description: error.description,
      code: 'upstream_unavailable',
    })
  })
})

describe('toHttpResponse: anything that is not a TokenwardError is a bare 500', () => {
  it.each<[string, unknown]>([
    ['an Error', new Error('connect ECONNREFUSED db:5432 password=hunter2')],
    ['a TypeError', new TypeError('Cannot read properties of undefined (hunter2)')],
    ['a string', 'hunter2'],
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    [
      'a plain object shaped like an error',
      { code: 'token_expired', status: 401, message: 'hunter2' },
    ],
    [
      'an Error with a known code',
      Object.assign(new Error('hunter2'), { code: 'token_expired', status: 401 }),
    ],
  ])('%s → 500 {code: internal_error} with no detail', (_, value) => {
    const response = toHttpResponse(value)
    expect(response.status).toBe(500)
    expect(response.body).toEqual({ code: 'internal_error' })
    expect(response.headers).not.toHaveProperty('www-authenticate')
    expect(response.headers['cache-control']).toBe('no-store')
    expect(JSON.stringify(response)).not.toContain('hunter2')
  })
})

describe('WWW-Authenticate format and escaping (RFC 6750 §3)', () => {
  it('values from the token are reduced to the RFC 6750 character set', async () => {
    const validator = validatorFor(key, { audience: { trusted: [AUDIENCE], mode: 'strict' } })
    const evil = 'evil"aud\\with\r\nctl \u00e9'
    const error = await rejection(
      validator.validate(await mint(key, claims({ aud: [AUDIENCE, evil], client_id: 'c' }))),
    )
    expectFailure(error, 'untrusted_audience', 401)
    expect(error.description).toContain('evil aud with  ctl')
    expect(error.description).toMatch(new RegExp(`^${QUOTED}$`))
    expect(error.wwwAuthenticate()).toMatch(
      new RegExp(`^Bearer realm="api", error="invalid_token", error_description="${QUOTED}"$`),
    )
  })

  it('a value named in a description is cut to 64 characters', async () => {
    const validator = validatorFor(key, { audience: { trusted: [AUDIENCE], mode: 'strict' } })
    const long = `x${'0123456789'.repeat(20)}`
    const error = await rejection(
      validator.validate(await mint(key, claims({ aud: [AUDIENCE, long], client_id: 'c' }))),
    )
    expectFailure(error, 'untrusted_audience', 401)
    expect(error.description).toContain(`${long.slice(0, 61)}...`)
    expect(error.description).not.toContain(long.slice(0, 62))
  })

  it('characters outside the set are replaced in any description', () => {
    const error = new TokenwardError('malformed_token', { detail: 'a"b\\c\u0000d\u00e9\te' })
    expect(error.description).toBe('Malformed token: a b c d  e')
    expect(error.wwwAuthenticate()).toBe(
      'Bearer realm="api", error="invalid_token", error_description="Malformed token: a b c d  e"',
    )
  })

  it('the realm is configurable', async () => {
    const validator = validatorFor(key, { realm: 'orders' })
    const missing = await rejection(validator.authenticate(undefined))
    expectFailure(missing, 'missing_token', 401, 'orders')
    expect(toHttpResponse(missing).headers['www-authenticate']).toBe('Bearer realm="orders"')
    const expired = await rejection(
      validator.validate(await mint(key, claims({ exp: NOW - 60, iat: NOW - 120 }))),
    )
    expectFailure(expired, 'token_expired', 401, 'orders')
    const auth = await validator.validate(await mint(key))
    const denied = thrown(() => {
      validator.authorize(auth, { roles: ['admin'] })
    })
    expectFailure(denied, 'insufficient_role', 403, 'orders')
    expect(validator.realm).toBe('orders')
  })

  it('insufficient_scope names the required scopes: scope="a b"', async () => {
    const validator = validatorFor(key)
    const token = await mint(key, claims({ scope: 'read' }))
    const error = await rejection(validator.validate(token, { scopes: ['read', 'write'] }))
    expectFailure(error, 'insufficient_scope', 403)
    expect(error.wwwAuthenticate()).toMatch(
      new RegExp(
        `^Bearer realm="api", error="insufficient_scope", error_description="${QUOTED}", scope="read write"$`,
      ),
    )
    expect(error.description).toContain('write')
    expect(toHttpResponse(error).headers['www-authenticate']).toBe(error.wwwAuthenticate())
  })

  it('insufficient_role names neither a scope nor the roles', async () => {
    const validator = validatorFor(key, { roles: { claim: 'roles' } })
    const token = await mint(key, claims({ roles: ['reader'] }))
    const error = await rejection(validator.validate(token, { roles: ['secret-admin-role'] }))
    expectFailure(error, 'insufficient_role', 403)
    const response = toHttpResponse(error)
    expect(response.headers['www-authenticate']).toBe(
      `Bearer realm="api", error="insufficient_scope", error_description="${error.description}"`,
    )
    expect(JSON.stringify(response)).not.toContain('secret-admin-role')
    expect(JSON.stringify(response)).not.toContain('scope="')
    expect(error.message).not.toContain('secret-admin-role')
  })
})

describe('descriptions never echo the token (RFC 6750 §5.3)', () => {
  const SECRET = 'tokenwardSECRETvalue0123456789abcdefABCDEF'

  /** Scenarios whose token text is recognisable: each must fail with `code`. */
  const scenarios: readonly [
    TokenwardErrorCode,
    (k: TestKey, o: TestKey) => Promise<{ header?: string; token: string }>,
  ][] = [
    ['malformed_token', () => Promise.resolve({ token: SECRET })],
    ['malformed_token', () => Promise.resolve({ token: `${SECRET}.${SECRET}.${SECRET}.x.y` })],
    ['invalid_request', () => Promise.resolve({ header: `Bearer ${SECRET}!`, token: SECRET })],
    [
      'alg_not_allowed',
      () => Promise.resolve({ token: unsigned({ alg: 'none' }, claims({ jti: SECRET })) }),
    ],
    ['invalid_signature', async (_, o) => ({ token: await mint(o, claims({ jti: SECRET })) })],
    [
      'unknown_key',
      async (k) => ({ token: await mint(k, claims({ jti: SECRET }), { kid: 'unknown' }) }),
    ],
    [
      'token_expired',
      async (k) => ({ token: await mint(k, claims({ jti: SECRET, exp: NOW - 10 })) }),
    ],
    [
      'invalid_issuer',
      async (k) => ({ token: await mint(k, claims({ jti: SECRET, iss: 'https://evil' })) }),
    ],
    [
      'invalid_audience',
      async (k) => ({ token: await mint(k, claims({ jti: SECRET, aud: 'other' })) }),
    ],
    [
      'invalid_token_type',
      async (k) => ({ token: await mint(k, claims({ jti: SECRET, nonce: 'n' })) }),
    ],
    [
      'malformed_token',
      async (k) => ({ token: await signRaw(k, { typ: 'JWT' }, `[${JSON.stringify(SECRET)}]`) }),
    ],
  ]

  it.each(scenarios)(
    '%s: not in message, description, challenge, body, logs or events',
    async (code, make) => {
      const logged: unknown[] = []
      const events: TokenwardEvent[] = []
      const validator = validatorFor(key, {
        logger: { warn: (...args) => logged.push(args), error: (...args) => logged.push(args) },
        onEvent: (event) => events.push(event),
      })
      const { header, token } = await make(key, otherKey)
      const error = await rejection(
        header === undefined ? validator.validate(token) : validator.authenticate(header),
      )
      expect(error.code).toBe(code)
      const response = toHttpResponse(error)
      const surfaces = [
        error.message,
        error.description,
        error.wwwAuthenticate() ?? '',
        JSON.stringify(response),
        JSON.stringify(logged),
        JSON.stringify(events),
      ]
      const parts = [token, ...token.split('.').filter((part) => part.length >= 16), SECRET]
      for (const surface of surfaces) {
        for (const part of parts) expect(surface).not.toContain(part)
      }
      // Reported with its code (and how long the decision took), never with the token.
      expect(events).toContainEqual(expect.objectContaining({ type: 'rejected', code }))
    },
  )

  it('neither for requirement failures (insufficient_scope, insufficient_role)', async () => {
    const validator = validatorFor(key, { roles: 'scope' })
    const token = await mint(key, claims({ jti: SECRET, scope: 'read' }))
    for (const requirements of [{ scopes: ['write'] }, { roles: ['admin'] }]) {
      const error = await rejection(validator.validate(token, requirements))
      const text = [error.message, error.description, JSON.stringify(toHttpResponse(error))].join()
      for (const part of [token, ...token.split('.'), SECRET]) expect(text).not.toContain(part)
    }
  })
})
