// What a JWT access token must be before its claims are trusted: classification (RFC 7515 §7.1,
// RFC 7516 §7.1), the JOSE header (RFC 8725 §3.1, §3.10, §3.11; RFC 9068 §4), keys and signature,
// the registered claims (RFC 7519 §4.1, RFC 9068 §2.2) and token-kind confusion (RFC 8725 §3.12).
// Tokens are minted here with jose and checked against a static key set, among them the RFC 9068
// §3 example and ZITADEL-shaped ID and access tokens.
import { CompactEncrypt, SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createValidator, type AuthResult } from '@tokenward/core'
import { startFaultServer, type FaultServer } from './support/fault-server.js'
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
  unsigned,
  validatorFor,
  type TestKey,
} from './support/tokens.js'

let key: TestKey
/** Another RSA key with the same `kid` as `key`. */
let impostor: TestKey
let ecKey: TestKey

beforeAll(async () => {
  ;[key, impostor, ecKey] = await Promise.all([
    createKey('RS256', 'key-1'),
    createKey('RS256', 'key-1'),
    createKey('ES256', 'ec-1'),
  ])
})
beforeEach(() => {
  freezeTime()
})
afterEach(() => {
  vi.useRealTimers()
})

const accept = 'accept'

/** Validates `token` with `validatorFor(keys, options)` and checks the outcome. */
async function expectOutcome(
  outcome: string,
  token: string,
  options: Parameters<typeof validatorFor>[1] = {},
  keys: TestKey | readonly TestKey[] = key,
): Promise<AuthResult | undefined> {
  const validator = validatorFor(keys, options)
  if (outcome === accept) {
    const auth = await validator.validate(token)
    expect(auth.source).toBe('jwt')
    return auth
  }
  const error = await rejection(validator.validate(token))
  expectFailure(error, outcome, 401)
  return undefined
}

describe('token classification: JWS, JWE or opaque (RFC 7515 §7.1, RFC 7516 §7.1)', () => {
  it('a five-segment token (JWE) is malformed_token: no decryption is configured', async () => {
    const { publicKey } = await generateKeyPair('ECDH-ES')
    const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(claims())))
      .setProtectedHeader({ alg: 'ECDH-ES', enc: 'A256GCM' })
      .encrypt(publicKey)
    expect(jwe.split('.')).toHaveLength(5)
    const error = await rejection(validatorFor(key).validate(jwe))
    expectFailure(error, 'malformed_token', 401)
    expect(error.description).toContain('JWE')
  })

  it.each([
    ['an opaque token', 'VjVxyCZmRmWYqd3_F5db9Pb9mHR5fqzhn'],
    [
      'three segments with "~", not base64url (the RFC 9449 §7.1 example token)',
      'Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU',
    ],
    ['a header that is not JSON', 'bm90LWpzb24.eyJzdWIiOiJ4In0.c2ln'],
    [
      'a header without alg',
      `${Buffer.from('{"typ":"JWT"}').toString('base64url')}.eyJzdWIiOiJ4In0.c2ln`,
    ],
    ['two segments', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0'],
  ])('%s is opaque: without introspection, malformed_token', async (_, token) => {
    const error = await rejection(validatorFor(key).validate(token))
    expectFailure(error, 'malformed_token', 401)
    expect(error.description).toContain('not a JWT')
  })
})

describe('the payload is a JSON object (RFC 7519 §7.2)', () => {
  it.each(['[1,2]', '"a string"', '123', 'null', 'true', '{"unterminated":', 'not json'])(
    'a signed payload %s is malformed_token',
    async (payload) => {
      const error = await rejection(validatorFor(key).validate(await signRaw(key, {}, payload)))
      expectFailure(error, 'malformed_token', 401)
      expect(error.description).toContain('payload is not a JSON object')
    },
  )
})

describe('the alg allow-list (RFC 8725 §3.1; RFC 9068 §4: never none)', () => {
  it.each(['none', 'NONE', 'None', 'nOnE'])('alg "%s" is alg_not_allowed', async (alg) => {
    const error = await rejection(
      validatorFor(key).validate(unsigned({ alg, typ: 'JWT' }, claims())),
    )
    expectFailure(error, 'alg_not_allowed', 401)
    expect(error.description).toContain(alg)
  })

  it.each(['HS256', 'HS512'] as const)('%s (a shared secret) is alg_not_allowed', async (alg) => {
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg, kid: 'key-1', typ: 'JWT' })
      .sign(
        new TextEncoder().encode('a-shared-secret-of-at-least-256-bits-length!!!!!!!!!!!!!!!!!!!'),
      )
    const error = await rejection(validatorFor(key).validate(token))
    expectFailure(error, 'alg_not_allowed', 401)
    expect(error.description).toContain(alg)
  })

  it('an alg outside the configured algorithms is alg_not_allowed', async () => {
    const error = await rejection(
      validatorFor([key, ecKey], { algorithms: ['ES256'] }).validate(await mint(key)),
    )
    expectFailure(error, 'alg_not_allowed', 401)
    expect(error.description).toContain('RS256')
    const auth = await validatorFor([key, ecKey], { algorithms: ['ES256'] }).validate(
      await mint(ecKey),
    )
    expect(auth.subject).toBe('user-1')
  })

  it.each(['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'] as const)(
    'the default accepts the asymmetric algorithm %s',
    async (alg) => {
      const signer = alg === 'RS256' ? key : await createKey(alg, `k-${alg}`)
      await expectOutcome(accept, await mint(signer), {}, signer)
    },
  )
})

describe('key–algorithm consistency (RFC 8725 §3.1, RFC 7517 §4.2–4.4): no usable key is unknown_key', () => {
  const table: readonly [string, (k: TestKey, ec: TestKey) => Promise<[JWK, string]>][] = [
    ['the JWK names another alg', async (k) => [{ ...k.publicJwk, alg: 'RS384' }, await mint(k)]],
    [
      'the JWK is for encryption (use: enc)',
      async (k) => [{ ...k.publicJwk, use: 'enc' }, await mint(k)],
    ],
    [
      'the JWK key_ops lack verify',
      async (k) => [{ ...k.publicJwk, key_ops: ['encrypt'] }, await mint(k)],
    ],
    [
      'an EC key for an RS256 token',
      async (k, ec) => [ec.publicJwk, await mint(k, claims(), { kid: ec.kid })],
    ],
    [
      'a P-256 key for an ES384 header',
      (_, ec) =>
        Promise.resolve([ec.publicJwk, `${unsigned({ alg: 'ES384', kid: ec.kid }, claims())}c2ln`]),
    ],
  ]
  it.each(table)('%s', async (_, make) => {
    const [jwk, token] = await make(key, ecKey)
    const validator = createValidator({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [jwk] } })
    const error = await rejection(validator.validate(token))
    expectFailure(error, 'unknown_key', 401)
  })

  it('the same key with a matching alg, use and key_ops is accepted (control)', async () => {
    const jwk = { ...key.publicJwk, alg: 'RS256', use: 'sig', key_ops: ['verify'] }
    const validator = createValidator({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [jwk] } })
    expect((await validator.validate(await mint(key))).subject).toBe('user-1')
  })
})

describe('the typ policy (RFC 9068 §4, RFC 8725 §3.11)', () => {
  it.each([
    'JWT',
    'jwt',
    'at+jwt',
    'application/at+jwt',
    'AT+JWT',
    'Application/At+Jwt',
    undefined,
  ])('the default accepts typ %s', async (typ) => {
    await expectOutcome(accept, await mint(key, claims(), { typ }))
  })

  it.each([
    'dpop+jwt',
    'logout+jwt',
    'secevent+jwt',
    'token-introspection+jwt',
    'application/dpop+jwt',
    'id_token+jwt',
    'JOSE',
  ])('the default rejects typ %s: invalid_token_type naming it', async (typ) => {
    const error = await rejection(validatorFor(key).validate(await mint(key, claims(), { typ })))
    expectFailure(error, 'invalid_token_type', 401)
    expect(error.description).toContain(typ)
  })

  it('a typ that is not a string is invalid_token_type', async () => {
    await expectOutcome('invalid_token_type', await mint(key, claims(), { typ: 42 }))
  })

  it('an explicit empty typ is not an absent typ: invalid_token_type', async () => {
    await expectOutcome('invalid_token_type', await mint(key, claims(), { typ: '' }))
  })

  it.each([
    ['JWT', 'invalid_token_type'],
    [undefined, 'invalid_token_type'],
    ['at+jwt', accept],
    ['application/AT+JWT', accept],
  ])('tokenTypes ["at+jwt"]: typ %s → %s', async (typ, outcome) => {
    await expectOutcome(outcome, await mint(key, claims(), { typ }), { tokenTypes: ['at+jwt'] })
  })
})

describe('crit and b64 (RFC 7515 §4.1.11, RFC 7797)', () => {
  it.each<[string, Record<string, unknown>]>([
    ['a critical extension', { crit: ['urn:example:ext'], 'urn:example:ext': 1 }],
    ['b64 declared critical', { crit: ['b64'], b64: true }],
    ['b64 without crit', { b64: false }],
  ])('%s is malformed_token', async (_, header) => {
    const token = await signRaw(key, { typ: 'JWT', ...header }, JSON.stringify(claims()))
    const error = await rejection(validatorFor(key).validate(token))
    expectFailure(error, 'malformed_token', 401)
    expect(error.description).toContain('critical')
  })
})

describe('key references in the header are never used (RFC 8725 §3.10)', () => {
  let attacker: TestKey
  let keyServer: FaultServer
  beforeAll(async () => {
    attacker = impostor
    keyServer = await startFaultServer()
    keyServer.setRoute('/attacker-jwks', { status: 200, body: { keys: [attacker.publicJwk] } })
  })
  afterAll(async () => {
    await keyServer.close()
  })

  it.each<[string, (a: TestKey, url: string) => Record<string, unknown>]>([
    ['jwk (with the trusted kid)', (a) => ({ jwk: a.publicJwk })],
    ['jwk (without kid)', (a) => ({ jwk: a.publicJwk, kid: undefined })],
    ['jku', (_, url) => ({ jku: `${url}/attacker-jwks` })],
    ['x5u', (_, url) => ({ x5u: `${url}/attacker-jwks` })],
  ])('a token signed by the key its %s header names is invalid_signature', async (_, header) => {
    keyServer.clearRequests()
    const token = await mint(attacker, claims(), header(attacker, keyServer.url))
    await expectOutcome('invalid_signature', token)
    expect(keyServer.requests).toHaveLength(0)
  })
})

describe('kid and signature (RFC 7515 §4.1.4, RFC 9068 §4)', () => {
  it('an unknown kid is unknown_key', async () => {
    await expectOutcome('unknown_key', await mint(key, claims(), { kid: 'key-2' }))
  })

  it('a valid signature by another key with the same kid is invalid_signature', async () => {
    await expectOutcome('invalid_signature', await mint(impostor))
  })

  it('a payload changed after signing is invalid_signature', async () => {
    const [header, , signature] = (await mint(key)).split('.')
    const payload = Buffer.from(JSON.stringify(claims({ sub: 'admin' }))).toString('base64url')
    await expectOutcome('invalid_signature', `${header!}.${payload}.${signature!}`)
  })

  it('without kid, exactly one compatible key is used', async () => {
    const auth = await expectOutcome(accept, await mint(key, claims(), { kid: undefined }), {}, [
      key,
      ecKey,
    ])
    expect(auth?.subject).toBe('user-1')
  })

  it('without kid, two compatible keys are unknown_key', async () => {
    const second = { ...impostor, publicJwk: { ...impostor.publicJwk, kid: 'key-2' } }
    await expectOutcome('unknown_key', await mint(key, claims(), { kid: undefined }), {}, [
      key,
      second,
    ])
  })
})

describe('iss is byte-equal to a configured issuer (RFC 9068 §4, OIDC Core §3.1.3.7)', () => {
  it.each([
    ['a trailing slash', `${ISSUER}/`],
    ['another case', ISSUER.toUpperCase()],
    ['http instead of https', ISSUER.replace('https:', 'http:')],
    ['a path prefix of it', 'https://issuer.example.co'],
    ['a list holding it', [ISSUER]],
    ['no iss', undefined],
  ])('%s is invalid_issuer', async (_, iss) => {
    await expectOutcome('invalid_issuer', await mint(key, claims({ iss })))
  })

  describe('the RFC 9068 §3 example token', () => {
    const header = { typ: 'at+JWT', alg: 'RS256', kid: 'RjEwOwOA' }
    const payload = {
      iss: 'https://authorization-server.example.com/',
      sub: '5ba552d67',
      aud: 'https://rs.example.com/',
      exp: 1639528912,
      iat: 1618354090,
      jti: 'dbe39bf3a3ba4238a513f51d6e1691c4',
      client_id: 's6BhdRkqt3',
      scope: 'openid profile reademail',
    }
    let signer: TestKey
    let token: string
    beforeAll(() => {
      // The RFC's key is not published: sign with a test key under the example's kid.
      signer = { ...key, kid: header.kid, publicJwk: { ...key.publicJwk, kid: header.kid } }
    })
    beforeEach(async () => {
      freezeTime(payload.iat + 60)
      token = await mint(signer, payload, header)
    })
    const rs = (issuer: string, audience: string) =>
      createValidator({
        issuer,
        audience,
        tokenTypes: ['at+jwt'],
        jwks: { keys: [signer.publicJwk] },
      })

    it('issuer without the trailing slash: invalid_issuer', async () => {
      const error = await rejection(
        rs('https://authorization-server.example.com', 'https://rs.example.com/').validate(token),
      )
      expectFailure(error, 'invalid_issuer', 401)
      expect(error.description).toContain('https://authorization-server.example.com/')
    })

    it('own audience https://rs.example.com (no slash): invalid_audience', async () => {
      const error = await rejection(rs(payload.iss, 'https://rs.example.com').validate(token))
      expectFailure(error, 'invalid_audience', 401)
    })

    it('exact issuer and audience: accepted with typ at+JWT, scope parsed', async () => {
      const auth = await rs(payload.iss, payload.aud).validate(token)
      expect(auth.scopes).toEqual(['openid', 'profile', 'reademail'])
      expect(auth.clientId).toBe('s6BhdRkqt3')
    })
  })

  describe('several issuers', () => {
    let server: FaultServer
    beforeAll(async () => {
      server = await startFaultServer()
      for (const name of ['a', 'b']) {
        server.setRoute(`/${name}/.well-known/openid-configuration`, {
          status: 200,
          body: { issuer: `${server.url}/${name}`, jwks_uri: `${server.url}/jwks` },
        })
      }
      server.setRoute('/jwks', { status: 200, body: { keys: [key.publicJwk] } })
    })
    afterAll(async () => {
      await server.close()
    })

    it.each([
      ['b', accept],
      ['a/', 'invalid_issuer'],
      ['c', 'invalid_issuer'],
    ])('iss <server>/%s → %s', async (path, outcome) => {
      const validator = createValidator({
        issuer: [`${server.url}/a`, `${server.url}/b`],
        audience: AUDIENCE,
      })
      const token = await mint(key, claims({ iss: `${server.url}/${path}` }))
      if (outcome === accept) {
        expect((await validator.validate(token)).issuer).toBe(`${server.url}/b`)
      } else {
        expectFailure(await rejection(validator.validate(token)), outcome, 401)
      }
    })
  })
})

describe('exp, nbf and iat: the time boundaries (RFC 7519 §4.1.4–4.1.6)', () => {
  /** [condition, skew, outcome, claim offsets from now]. */
  const BOUNDARIES: readonly [string, number, string, Record<string, number>][] = [
    ['exp = now', 0, 'token_expired', { exp: 0 }],
    ['exp = now + 1', 0, accept, { exp: 1 }],
    ['exp = now + 0.5 (a non-integer NumericDate, RFC 7519 §2)', 0, accept, { exp: 0.5 }],
    ['nbf = now', 0, accept, { nbf: 0 }],
    ['nbf = now + 1', 0, 'token_not_yet_valid', { nbf: 1 }],
    ['iat = now', 0, accept, { iat: 0 }],
    ['iat = now + 1', 0, 'token_not_yet_valid', { iat: 1 }],
    ['exp = now − 4', 5, accept, { exp: -4 }],
    ['exp = now − 5', 5, 'token_expired', { exp: -5 }],
    // The same rules at skew 5 for nbf (now ≥ nbf − skew) and iat (iat ≤ now + skew).
    ['nbf = now + 5', 5, accept, { nbf: 5 }],
    ['nbf = now + 6', 5, 'token_not_yet_valid', { nbf: 6 }],
    ['iat = now + 5', 5, accept, { iat: 5 }],
    ['iat = now + 6', 5, 'token_not_yet_valid', { iat: 6 }],
  ]

  it.each(BOUNDARIES)('%s, skew %i → %s', async (_, skew, outcome, offsets) => {
    const payload = claims({ iat: undefined })
    for (const [name, offset] of Object.entries(offsets)) payload[name] = NOW + offset
    await expectOutcome(outcome, await mint(key, payload), { clockToleranceSeconds: skew })
  })

  it('the default clock tolerance is 5 seconds', async () => {
    await expectOutcome(accept, await mint(key, claims({ exp: NOW - 4 })))
    await expectOutcome('token_expired', await mint(key, claims({ exp: NOW - 5 })))
  })

  it('a token validated before is token_expired once exp has passed (the cache re-checks exp)', async () => {
    const validator = validatorFor(key, { clockToleranceSeconds: 0 })
    const token = await mint(key, claims({ exp: NOW + 60 }))
    await validator.validate(token)
    vi.setSystemTime((NOW + 60) * 1000)
    expectFailure(await rejection(validator.validate(token)), 'token_expired', 401)
  })
})

describe('exp is required and a NumericDate (RFC 7519 §2, RFC 9068 §2.2)', () => {
  it('a token without exp is malformed_token', async () => {
    const error = await rejection(
      validatorFor(key).validate(await mint(key, claims({ exp: undefined }))),
    )
    expectFailure(error, 'malformed_token', 401)
    expect(error.description).toContain('exp')
  })

  it.each<[string, unknown]>([
    ['a numeric string', String(NOW + 3600)],
    ['"NaN" as a string', 'NaN'],
    ['a negative number', -1],
    ['a huge numeric string', '1e400'],
    ['null', null],
    ['a boolean', true],
    ['an object', {}],
    ['a list', [NOW + 3600]],
  ])('exp as %s is malformed_token', async (_, exp) => {
    await expectOutcome('malformed_token', await mint(key, claims({ exp })))
  })

  it('exp that overflows to Infinity (1e400 as a JSON number) is malformed_token', async () => {
    const payload = JSON.stringify(claims({ exp: 0 })).replace('"exp":0', '"exp":1e400')
    await expectOutcome('malformed_token', await signRaw(key, { typ: 'JWT' }, payload))
  })

  it.each<[string, unknown]>([
    ['nbf', String(NOW)],
    ['nbf', -5],
    ['iat', String(NOW)],
    ['iat', null],
  ])('%s as %j is malformed_token', async (name, value) => {
    await expectOutcome('malformed_token', await mint(key, claims({ [name]: value })))
  })
})

describe('maxTokenAgeSeconds: a bound on the token age iat gives (RFC 7519 §4.1.6)', () => {
  it.each([
    ['now − 60', accept, NOW - 60],
    ['now − 61', 'token_expired', NOW - 61],
    ['absent', 'malformed_token', undefined],
  ])('maxTokenAgeSeconds 60, skew 0: iat %s → %s', async (_, outcome, iat) => {
    await expectOutcome(outcome, await mint(key, claims({ iat })), {
      maxTokenAgeSeconds: 60,
      clockToleranceSeconds: 0,
    })
  })

  it('a token accepted earlier is token_expired once older than maxTokenAgeSeconds', async () => {
    const validator = validatorFor(key, { maxTokenAgeSeconds: 60, clockToleranceSeconds: 0 })
    const token = await mint(key, claims({ iat: NOW }))
    await validator.validate(token)
    vi.setSystemTime((NOW + 61) * 1000)
    expectFailure(await rejection(validator.validate(token)), 'token_expired', 401)
  })
})

describe('claim types: sub, client_id, azp and jti are strings (RFC 9068 §2.2, OIDC Core §2)', () => {
  it.each(['sub', 'client_id', 'azp', 'jti'])(
    '%s that is not a string is malformed_token',
    async (name) => {
      await expectOutcome('malformed_token', await mint(key, claims({ [name]: 42 })))
    },
  )
})

describe('ID-token markers (OIDC Core §2, §3.1.3.6; RFC 8725 §3.12)', () => {
  it.each(['nonce', 'at_hash', 'c_hash', 's_hash'])(
    'a token with %s is invalid_token_type',
    async (marker) => {
      const error = await rejection(
        validatorFor(key).validate(
          await mint(key, claims({ [marker]: 'x', client_id: 'c', jti: 'j' })),
        ),
      )
      expectFailure(error, 'invalid_token_type', 401)
      expect(error.description).toContain(marker)
    },
  )
})

const PROJECT = '170086774599581953'
const APP1 = '170086824411201793@portal'
const APP2 = '209806276543185153@portal'
/** A real ZITADEL ID token payload (ZITADEL's user-metadata guide), its times moved to NOW. */
const ID_TOKEN = {
  iss: ISSUER,
  sub: '170848145649959169',
  aud: [APP1, APP2, PROJECT],
  azp: APP1,
  client_id: APP1,
  at_hash: 'xbqVOVUWYCOZc4_3ixNhOQ',
  c_hash: 'BMu6Ff3tYvW4Q6mLkyadGg',
  auth_time: NOW - 100,
  amr: ['password', 'pwd', 'mfa', 'otp'],
  exp: NOW + 43200,
  iat: NOW,
}
/** A ZITADEL JWT access token: typ JWT, `client_id` and a `V2_` jti, no `azp`. */
const ACCESS_TOKEN = {
  iss: ISSUER,
  sub: '170848145649959169',
  aud: [APP1, APP2, PROJECT],
  exp: NOW + 43200,
  iat: NOW,
  nbf: NOW,
  client_id: APP1,
  jti: 'V2_266372284957376516-at_266372284957442052',
}

describe('the zitadel profile tells access tokens from ID tokens by jti and azp (RFC 8725 §3.12)', () => {
  const zitadel = {
    profile: 'zitadel',
    audience: { trusted: [APP1, APP2, PROJECT], required: [PROJECT] },
  } as const

  it('accepts a ZITADEL access token (typ JWT, jti, client_id, no azp)', async () => {
    const auth = await expectOutcome(accept, await mint(key, ACCESS_TOKEN), zitadel)
    expect(auth?.clientId).toBe(APP1)
  })

  it.each<[string, string, Record<string, unknown>]>([
    ['azp present', 'invalid_token_type', { azp: APP1 }],
    ['jti absent', 'invalid_token_type', { jti: undefined }],
    ['azp present and jti absent', 'invalid_token_type', { azp: APP1, jti: undefined }],
    ['client_id absent', 'malformed_token', { client_id: undefined }],
  ])('%s → %s', async (_, outcome, change) => {
    await expectOutcome(outcome, await mint(key, { ...ACCESS_TOKEN, ...change }), zitadel)
  })

  it('a real ZITADEL ID token presented as an access token is invalid_token_type', async () => {
    await expectOutcome('invalid_token_type', await mint(key, ID_TOKEN), zitadel)
    await expectOutcome('invalid_token_type', await mint(key, ID_TOKEN), { audience: PROJECT })
  })

  it('that ID token without its hash claims is still an ID token to the profile (azp, no jti)', async () => {
    const idToken = { ...ID_TOKEN, at_hash: undefined, c_hash: undefined }
    await expectOutcome('invalid_token_type', await mint(key, idToken), zitadel)
    // Without the profile the rules are issuer-neutral: azp and a missing jti are fine.
    await expectOutcome(accept, await mint(key, idToken), { audience: PROJECT })
  })
})

describe('checks that need no network run before any fetch', () => {
  let server: FaultServer
  beforeAll(async () => {
    server = await startFaultServer()
    server.setRoute('/jwks', { status: 500, body: { error: 'down' } })
  })
  afterAll(async () => {
    await server.close()
  })

  it.each<[string, (k: TestKey) => Promise<string>]>([
    ['token_expired', (k) => mint(k, claims({ exp: NOW - 60 }))],
    ['token_not_yet_valid', (k) => mint(k, claims({ nbf: NOW + 60 }))],
    ['invalid_issuer', (k) => mint(k, claims({ iss: 'https://evil.example.com' }))],
    ['invalid_audience', (k) => mint(k, claims({ aud: 'https://other.example.com' }))],
    ['invalid_token_type', (k) => mint(k, claims({ nonce: 'n' }))],
    ['alg_not_allowed', () => Promise.resolve(unsigned({ alg: 'none' }, claims()))],
    ['malformed_token', (k) => mint(k, claims({ exp: undefined }))],
  ])('%s is answered while the JWKS is down, without fetching it', async (code, make) => {
    server.clearRequests()
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: `${server.url}/jwks`,
    })
    expectFailure(await rejection(validator.validate(await make(key))), code, 401)
    expect(server.requestsTo('/jwks')).toHaveLength(0)
  })

  it('a good token gets 503 while the JWKS is down (control)', async () => {
    server.clearRequests()
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: `${server.url}/jwks`,
    })
    expectFailure(await rejection(validator.validate(await mint(key))), 'upstream_unavailable', 503)
    expect(server.requestsTo('/jwks').length).toBeGreaterThan(0)
  })
})

describe('keys given as a JWK set (static)', () => {
  it('a JWK exported by jose validates tokens of its private key', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256')
    const jwk = { ...(await exportJWK(publicKey)), kid: 'static' }
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'ES256', kid: 'static' })
      .sign(privateKey)
    const validator = createValidator({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [jwk] } })
    expect((await validator.validate(token)).subject).toBe('user-1')
  })
})
