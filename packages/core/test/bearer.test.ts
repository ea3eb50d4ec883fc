// Credential extraction (RFC 6750 §2.1, §3.1): the Bearer scheme, no credentials, more than one
// Authorization header and the token length cap, through `validator.authenticate(header)` and
// `authorizationValues(rawHeaders)`.
import { connect } from 'node:net'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  authorizationValues,
  createValidator,
  toHttpResponse,
  type Validator,
} from '@tokenward/core'
import { startFaultServer, type FaultServer } from './support/fault-server.js'
import { listen } from './support/listen.js'
import {
  AUDIENCE,
  ISSUER,
  claims,
  createKey,
  expectFailure,
  freezeTime,
  mint,
  rejection,
  validatorFor,
  type TestKey,
} from './support/tokens.js'

let key: TestKey
let token: string
let validator: Validator

beforeAll(async () => {
  key = await createKey()
})
beforeEach(async () => {
  freezeTime()
  token = await mint(key)
  validator = validatorFor(key)
})
afterEach(() => {
  vi.useRealTimers()
})

describe('the Bearer scheme (RFC 6750 §2.1)', () => {
  it.each(['Bearer', 'bearer', 'BEARER', 'bEaReR'])(
    'accepts the scheme written %s: it is case-insensitive',
    async (scheme) => {
      const auth = await validator.authenticate(`${scheme} ${token}`)
      expect(auth.token).toBe(token)
      expect(auth.subject).toBe('user-1')
    },
  )

  it('accepts several spaces after the scheme and whitespace around the value (1*SP b64token)', async () => {
    const auth = await validator.authenticate(`  Bearer    ${token}  `)
    expect(auth.token).toBe(token)
  })

  it.each([
    ['Bearer', 'a scheme without a credential'],
    ['Bearer ', 'a scheme and a space only'],
    ['Bearer  a b', 'two credentials'],
    ['Bearer abc!def', '"!" is not a b64token character'],
    ['Bearer abc,def', '"," is not a b64token character'],
    ['Bearer ab"cd', "'\"' is not a b64token character"],
    ['Bearer t\u00f6ken', 'a non-ASCII character'],
    ['Bearer ab=cd', '"=" only as trailing padding'],
    ['Bearer =abc', 'padding without a token'],
  ])('%j is invalid_request 400 (%s)', async (header) => {
    const error = await rejection(validator.authenticate(header))
    expectFailure(error, 'invalid_request', 400)
    expect(error.description).toMatch(/^Malformed request: /)
  })

  it('accepts every b64token character and trailing padding; the token itself is judged next', async () => {
    // A b64token with "~" (RFC 6750 §2.1; the RFC 9449 §7.1 example token) is a valid credential
    // but not a JWS: "~" is outside base64url (RFC 7515 §2). Without introspection it is
    // malformed_token (401), not invalid_request (400).
    const error = await rejection(
      validator.authenticate('Bearer Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU+/=='),
    )
    expectFailure(error, 'malformed_token', 401)
    expect(error.description).toContain('not a JWT')
  })
})

describe('no credentials: missing_token without error information (RFC 6750 §3.1)', () => {
  it.each<[string, string | readonly string[] | undefined]>([
    ['no header', undefined],
    ['an empty header', ''],
    ['a blank header', '   '],
    ['Basic credentials', 'Basic dXNlcjpwYXNz'],
    ['another scheme', 'Token abc'],
    ['a scheme that only starts with Bearer', 'Bearerabc'],
    ['an empty list of values', []],
  ])('%s is missing_token 401 with the challenge exactly Bearer realm="api"', async (_, header) => {
    const error = await rejection(validator.authenticate(header))
    expectFailure(error, 'missing_token', 401)
    expect(error.wwwAuthenticate()).toBe('Bearer realm="api"')
    const response = toHttpResponse(error)
    expect(response.status).toBe(401)
    expect(response.headers['www-authenticate']).toBe('Bearer realm="api"')
    expect(response.body).not.toHaveProperty('error')
    expect(response.body.code).toBe('missing_token')
  })

  it('the DPoP scheme with dpop disabled is no token either (RFC 9449 §7.1 is off)', async () => {
    const error = await rejection(
      validatorFor(key, { dpop: { mode: 'disabled' } }).authenticate('DPoP abc.def.ghi'),
    )
    expectFailure(error, 'missing_token', 401)
    expect(error.wwwAuthenticate()).toBe('Bearer realm="api"')
  })
})

describe('more than one Authorization header is invalid_request (RFC 6750 §3.1)', () => {
  // TOKEN stands for a valid token (minted in beforeEach, after the table is built).
  it.each<[string, readonly string[]]>([
    ['two Bearer values', ['Bearer TOKEN', 'Bearer TOKEN']],
    ['Basic and Bearer', ['Basic dXNlcjpwYXNz', 'Bearer TOKEN']],
    ['three values', ['Bearer a', 'Bearer b', 'Bearer c']],
  ])('%s are invalid_request 400', async (_, values) => {
    const headers = values.map((value) => value.replace('TOKEN', token))
    const error = await rejection(validator.authenticate(headers))
    expectFailure(error, 'invalid_request', 400)
    expect(error.description).toContain('more than one Authorization header')
  })

  it('a list of one value is that value', async () => {
    const auth = await validator.authenticate([`Bearer ${token}`])
    expect(auth.token).toBe(token)
  })

  it('authorizationValues collects every Authorization value, names case-insensitive (RFC 9110 §5.1)', () => {
    const raw = [
      'Host',
      'api.example.com',
      'Authorization',
      'Bearer AAA',
      'X-Authorization',
      'Bearer XXX',
      'authorization',
      'DPoP BBB',
      'DPoP',
      'a.b.c',
      'AUTHORIZATION',
      'Bearer CCC',
      'DPoP',
      'd.e.f',
    ]
    expect(authorizationValues(raw)).toEqual(['Bearer AAA', 'DPoP BBB', 'Bearer CCC'])
    expect(authorizationValues(['Host', 'api.example.com'])).toBeUndefined()
  })

  it('the values of a request with two Authorization headers are invalid_request 400', async () => {
    const values = authorizationValues(['Authorization', `Bearer ${token}`, 'authorization', 'x'])
    const error = await rejection(validator.authenticate(values))
    expectFailure(error, 'invalid_request', 400)
  })

  it('the values of a request without Authorization are missing_token 401', async () => {
    const error = await rejection(validator.authenticate(authorizationValues(['Host', 'x'])))
    expectFailure(error, 'missing_token', 401)
  })

  describe('over HTTP: two Authorization headers as Node parses them', () => {
    let server: Awaited<ReturnType<typeof listen>>
    let seen: { header: string | undefined; values: string[] | undefined } | undefined

    beforeAll(async () => {
      server = await listen((req, res) => {
        const values = authorizationValues(req.rawHeaders)
        seen = { header: req.headers.authorization, values }
        validator.authenticate(values).then(
          () => {
            res.writeHead(200).end()
          },
          (error: unknown) => {
            const response = toHttpResponse(error)
            res.writeHead(response.status, response.headers).end(JSON.stringify(response.body))
          },
        )
      })
    })
    afterAll(async () => {
      await server.close()
    })

    function rawRequest(lines: readonly string[]): Promise<string> {
      return new Promise((resolve, reject) => {
        const socket = connect(server.port, '127.0.0.1')
        let answer = ''
        socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')))
        socket.on('end', () => {
          resolve(answer)
        })
        socket.on('error', reject)
        socket.end(
          ['GET / HTTP/1.1', 'Host: 127.0.0.1', ...lines, 'Connection: close', '', ''].join('\r\n'),
        )
      })
    }

    it('Node keeps only the first Authorization in req.headers; rawHeaders has both: 400', async () => {
      const answer = await rawRequest([
        `Authorization: Bearer ${token}`,
        'Authorization: DPoP BBB',
        'DPoP: a.b.c',
        'DPoP: d.e.f',
      ])
      expect(seen).toEqual({ header: `Bearer ${token}`, values: [`Bearer ${token}`, 'DPoP BBB'] })
      expect(answer).toMatch(/^HTTP\/1\.1 400 /)
      expect(answer).toContain('"code":"invalid_request"')
    })

    it('one Authorization header is accepted', async () => {
      const answer = await rawRequest([`authorization: Bearer ${token}`])
      expect(answer).toMatch(/^HTTP\/1\.1 200 /)
    })
  })
})

describe('the token length cap (maxTokenLength)', () => {
  it('a token over maxTokenLength is malformed_token 401, checked before the credential is parsed', async () => {
    const capped = validatorFor(key, { maxTokenLength: 64 })
    // Not a b64token either: the length decides first, before any parsing (a cheap bound
    // against oversized input).
    const error = await rejection(capped.authenticate(`Bearer ${'a'.repeat(64)}!`))
    expectFailure(error, 'malformed_token', 401)
    expect(error.description).toContain('longer than 64 characters')
  })

  it('a token of exactly maxTokenLength passes; one character less is the cap', async () => {
    const exact = await validatorFor(key, { maxTokenLength: token.length }).authenticate(
      `Bearer ${token}`,
    )
    expect(exact.token).toBe(token)
    const error = await rejection(
      validatorFor(key, { maxTokenLength: token.length - 1 }).authenticate(`Bearer ${token}`),
    )
    expectFailure(error, 'malformed_token', 401)
    expect(error.description).toContain(`longer than ${token.length - 1} characters`)
  })

  it('the default cap is 16384 characters', async () => {
    const over = await rejection(validator.authenticate(`Bearer ${'a'.repeat(16385)}`))
    expectFailure(over, 'malformed_token', 401)
    expect(over.description).toContain('longer than 16384 characters')
    // 16384 characters pass the cap and are then judged as an (opaque) token.
    const at = await rejection(validator.authenticate(`Bearer ${'a'.repeat(16384)}`))
    expectFailure(at, 'malformed_token', 401)
    expect(at.description).toContain('not a JWT')
  })

  describe('validate() caps direct callers too, before any network call', () => {
    let jwksServer: FaultServer
    beforeAll(async () => {
      jwksServer = await startFaultServer()
      jwksServer.setRoute('/jwks', { status: 200, body: { keys: [key.publicJwk] } })
    })
    afterAll(async () => {
      await jwksServer.close()
    })

    it('a long, validly signed JWT is malformed_token and the JWKS is never fetched', async () => {
      const remote = (maxTokenLength: number): Validator =>
        createValidator({
          issuer: ISSUER,
          audience: AUDIENCE,
          jwksUri: `${jwksServer.url}/jwks`,
          maxTokenLength,
        })
      const long = await mint(key, claims({ pad: 'x'.repeat(200) }))
      jwksServer.clearRequests()
      const error = await rejection(remote(long.length - 1).validate(long))
      expectFailure(error, 'malformed_token', 401)
      expect(error.description).toContain(`longer than ${long.length - 1} characters`)
      expect(jwksServer.requestsTo('/jwks')).toHaveLength(0)
      // The same token under a cap it fits is fetched for and accepted.
      const auth = await remote(long.length).validate(long)
      expect(auth.issuer).toBe(ISSUER)
      expect(auth.audience).toEqual([AUDIENCE])
      expect(jwksServer.requestsTo('/jwks')).toHaveLength(1)
    })
  })
})
