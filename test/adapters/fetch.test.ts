// The Fetch API adapter (`authenticateFetch`, `fetchAuthorizationValues`) with real `Request`
// objects and tokens from a real OpenID Provider: the same answers as every framework adapter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  authenticateFetch,
  createValidator,
  fetchAuthorizationValues,
  type AuthResult,
  type Validator,
  type ValidatorOptions,
} from '@tokenward/core'
import { startIssuer, type TestIssuer } from '../support/issuer.js'
import { APP1, APP2, ORG, PROJECT, mintToken, testValidatorOptions } from './apps.js'

let issuer: TestIssuer
let validator: Validator
const tokens: Record<string, string> = {}
const options = (extra: Partial<ValidatorOptions> = {}) => testValidatorOptions(issuer, extra)

beforeAll(async () => {
  issuer = await startIssuer()
  validator = createValidator(options())
  const now = Math.floor(Date.now() / 1000)
  const [admin, editor, expired, untrusted, opaque] = await Promise.all([
    mintToken(issuer, { admin: { [ORG]: 'acme.example' } }, { scope: 'read' }),
    mintToken(issuer, { editor: { [ORG]: 'acme.example' } }),
    mintToken(issuer, {}, { claims: { iat: now - 7200, exp: now - 3600 } }),
    mintToken(issuer, {}, { clientIds: [APP1, APP2] }),
    issuer
      .issueToken({ format: 'opaque', audience: [PROJECT], scope: 'read' })
      .then((issued) => issued.token),
  ])
  Object.assign(tokens, { admin, editor, expired, untrusted, opaque })
})

afterAll(async () => {
  await validator.close()
  await issuer.close()
})

const request = (authorization?: string | string[]) => {
  const headers = new Headers()
  for (const line of [authorization ?? []].flat()) headers.append('authorization', line)
  return new Request('http://127.0.0.1/me', { headers })
}

async function answer(response: AuthResult | Response) {
  if (!(response instanceof Response)) throw new Error('expected a Response')
  return {
    status: response.status,
    challenge: response.headers.get('www-authenticate'),
    cacheControl: response.headers.get('cache-control'),
    contentType: response.headers.get('content-type'),
    retryAfter: response.headers.get('retry-after'),
    body: await response.json(),
  }
}

const challenge = (error: string, description: string, extra = '') =>
  `Bearer realm="api", error="${error}", error_description="${description}"${extra}`

describe('authenticateFetch', () => {
  it('a valid token resolves to the AuthResult', async () => {
    const auth = await authenticateFetch(validator, request(`Bearer ${tokens.admin}`))
    expect(auth).not.toBeInstanceOf(Response)
    const { subject, source, audience, scopes, roles } = auth as AuthResult
    expect({ subject, source, audience, scopes, roles }).toEqual({
      subject: issuer.tokenClient.clientId,
      source: 'jwt',
      audience: [APP1, PROJECT],
      scopes: ['read'],
      roles: { admin: [ORG] },
    })
  })

  it('requirements met: the AuthResult', async () => {
    const auth = await authenticateFetch(validator, request(`Bearer ${tokens.admin}`), {
      roles: ['admin'],
    })
    expect((auth as AuthResult).roles).toEqual({ admin: [ORG] })
  })

  it('an opaque token is introspected', async () => {
    const auth = await authenticateFetch(validator, request(`Bearer ${tokens.opaque}`))
    expect((auth as AuthResult).source).toBe('introspection')
  })

  it('no token: 401 with a bare challenge, no-store, JSON', async () => {
    expect(await answer(await authenticateFetch(validator, request()))).toEqual({
      status: 401,
      challenge: 'Bearer realm="api"',
      cacheControl: 'no-store',
      contentType: 'application/json; charset=utf-8',
      retryAfter: null,
      body: { error_description: 'No bearer token', code: 'missing_token' },
    })
  })

  it('an expired token: 401 token_expired', async () => {
    const response = await answer(
      await authenticateFetch(validator, request(`Bearer ${tokens.expired}`)),
    )
    expect(response.status).toBe(401)
    expect(response.challenge).toBe(challenge('invalid_token', 'The access token expired'))
    expect(response.body).toEqual({
      error: 'invalid_token',
      error_description: 'The access token expired',
      code: 'token_expired',
    })
  })

  it('an untrusted audience (strict): 401 untrusted_audience', async () => {
    const response = await answer(
      await authenticateFetch(validator, request(`Bearer ${tokens.untrusted}`)),
    )
    const description = `The token has an untrusted audience: '${APP2}' is not a trusted audience`
    expect(response.status).toBe(401)
    expect(response.challenge).toBe(challenge('invalid_token', description))
    expect(response.body).toEqual({
      error: 'invalid_token',
      error_description: description,
      code: 'untrusted_audience',
    })
  })

  it('a missing role: 403 insufficient_role', async () => {
    const response = await answer(
      await authenticateFetch(validator, request(`Bearer ${tokens.editor}`), { roles: ['admin'] }),
    )
    expect(response.status).toBe(403)
    expect(response.challenge).toBe(
      challenge('insufficient_scope', 'The token lacks a required role'),
    )
    expect(response.body).toEqual({
      error: 'insufficient_scope',
      error_description: 'The token lacks a required role',
      code: 'insufficient_role',
    })
  })

  it('a missing scope: 403 naming it in the challenge', async () => {
    const response = await answer(
      await authenticateFetch(validator, request(`Bearer ${tokens.admin}`), { scopes: ['write'] }),
    )
    expect(response.status).toBe(403)
    expect(response.challenge).toBe(
      challenge(
        'insufficient_scope',
        'The token lacks a required scope: missing write',
        ', scope="write"',
      ),
    )
  })

  it('two Authorization headers (joined by Headers): 400 invalid_request', async () => {
    const response = await answer(
      await authenticateFetch(
        validator,
        request([`Bearer ${tokens.admin}`, `Bearer ${tokens.admin}`]),
      ),
    )
    const description = 'Malformed request: more than one Authorization header'
    expect(response.status).toBe(400)
    expect(response.challenge).toBe(challenge('invalid_request', description))
    expect(response.body).toEqual({
      error: 'invalid_request',
      error_description: description,
      code: 'invalid_request',
    })
  })

  it('issuer down (fresh validator): 503 with Retry-After and no challenge', async () => {
    const fresh = createValidator(options({ upstreamBackoff: { minSeconds: 30, maxSeconds: 30 } }))
    issuer.setDown(true)
    try {
      expect(
        await answer(await authenticateFetch(fresh, request(`Bearer ${tokens.admin}`))),
      ).toEqual({
        status: 503,
        challenge: null,
        cacheControl: 'no-store',
        contentType: 'application/json; charset=utf-8',
        retryAfter: '30',
        body: {
          error_description: 'The token issuer is unavailable',
          code: 'upstream_unavailable',
        },
      })
    } finally {
      issuer.setDown(false)
      await fresh.close()
    }
  })

  it('a failure that is not a token problem: a bare 500, reported to the logger', async () => {
    const errors: unknown[] = []
    const logged = createValidator(
      options({
        logger: {
          warn() {},
          error(_message: string, meta?: unknown) {
            errors.push(meta)
          },
        },
      }),
    )
    // The real validator's report (its logger), with an authenticate that fails as a bug would.
    const broken = {
      authenticate: () => Promise.reject(new Error('bug')),
      reportUnexpected: (error: unknown) => logged.reportUnexpected?.(error),
    } as unknown as Validator
    const response = await answer(await authenticateFetch(broken, request('Bearer x')))
    expect(response).toEqual({
      status: 500,
      challenge: null,
      cacheControl: 'no-store',
      contentType: 'application/json; charset=utf-8',
      retryAfter: null,
      body: { code: 'internal_error' },
    })
    expect(errors).toHaveLength(1)
    await logged.close()
  })
})

describe('fetchAuthorizationValues: the values a Headers object joined, split again', () => {
  const values = (...lines: string[]) => {
    const headers = new Headers()
    for (const line of lines) headers.append('Authorization', line)
    return fetchAuthorizationValues(headers)
  }

  it.each([
    { lines: [], expected: undefined },
    { lines: ['Bearer abc'], expected: 'Bearer abc' },
    { lines: ['Bearer a', 'Bearer b'], expected: ['Bearer a', 'Bearer b'] },
    { lines: ['Basic eA==', 'Bearer b'], expected: ['Basic eA==', 'Bearer b'] },
    { lines: ['Bearer a', 'Negotiate'], expected: ['Bearer a', 'Negotiate'] },
    { lines: ['Basic eA==', 'Basic eQ=='], expected: ['Basic eA==', 'Basic eQ=='] },
    // One credentials whose auth-params hold commas: one value (another scheme: missing_token).
    { lines: ['Digest username="a", realm="b"'], expected: 'Digest username="a", realm="b"' },
    {
      lines: ['Digest username = "a", realm = "b"'],
      expected: 'Digest username = "a", realm = "b"',
    },
    { lines: ['Digest realm="a, Bearer b"'], expected: 'Digest realm="a, Bearer b"' },
    { lines: ['Digest realm="a\\", Bearer b"'], expected: 'Digest realm="a\\", Bearer b"' },
    // A comma inside a Bearer credential is not b64token: the core answers invalid_request.
    { lines: ['Bearer a,b'], expected: 'Bearer a,b' },
  ])('$lines', ({ lines, expected }) => {
    expect(values(...lines)).toEqual(expected)
  })

  it('through the core: joined lines are invalid_request, one Digest header is missing_token', async () => {
    await expect(validator.authenticate(values('Basic eA==', 'Bearer b'))).rejects.toMatchObject({
      code: 'invalid_request',
      description: 'Malformed request: more than one Authorization header',
    })
    await expect(
      validator.authenticate(values('Digest username="a", realm="b"')),
    ).rejects.toMatchObject({ code: 'missing_token' })
  })
})
