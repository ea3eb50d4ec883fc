// startIssuer through real HTTP: the discovery document at both well-known places, the JWKS,
// and minted tokens verified by jose against the issuer's published keys.
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTVerifyResult,
} from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startIssuer, type SigningAlgorithm, type TestIssuer } from '@tokenward/testing'

async function getJson(url: string): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url)
  return { status: res.status, body: await res.json(), headers: res.headers }
}

/** Verifies as a resource server would: keys from the issuer's jwks_uri, found by discovery. */
async function verify(issuer: TestIssuer, token: string): Promise<JWTVerifyResult> {
  const discovery = (await getJson(issuer.discoveryUrl)).body as {
    jwks_uri: string
    issuer: string
  }
  return jwtVerify(token, createRemoteJWKSet(new URL(discovery.jwks_uri)), {
    issuer: discovery.issuer,
  })
}

describe('discovery and JWKS', () => {
  let issuer: TestIssuer
  beforeAll(async () => {
    issuer = await startIssuer()
  })
  afterAll(() => issuer.close())

  it('listens on 127.0.0.1 at a free port, with the issuer at the origin', () => {
    expect(issuer.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(issuer.port).toBeGreaterThan(0)
    expect(issuer.origin).toBe(issuer.issuer)
    expect(issuer.discoveryUrl).toBe(`${issuer.issuer}/.well-known/openid-configuration`)
  })

  it('serves the OpenID discovery document', async () => {
    const { status, body, headers } = await getJson(issuer.discoveryUrl)
    expect(status).toBe(200)
    expect(headers.get('content-type')).toMatch(/^application\/json/)
    expect(body).toEqual({
      issuer: issuer.issuer,
      jwks_uri: issuer.jwksUri,
      introspection_endpoint: issuer.introspectionEndpoint,
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      id_token_signing_alg_values_supported: ['RS256'],
      subject_types_supported: ['public'],
    })
  })

  it('serves the same document at the RFC 8414 well-known place', async () => {
    const rfc8414 = await getJson(`${issuer.origin}/.well-known/oauth-authorization-server`)
    expect(rfc8414.body).toEqual((await getJson(issuer.discoveryUrl)).body)
  })

  it('publishes its signing key with kid, alg and use, and no private part', async () => {
    const { status, body } = await getJson(issuer.jwksUri)
    expect(status).toBe(200)
    expect(body.keys).toHaveLength(1)
    const [key] = body.keys
    expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: issuer.kids[0] })
    expect(key).not.toHaveProperty('d')
  })

  it('answers 404 to other paths and 405 to a POST to the JWKS', async () => {
    expect((await fetch(`${issuer.origin}/token`)).status).toBe(404)
    expect((await fetch(issuer.jwksUri, { method: 'POST' })).status).toBe(405)
  })
})

describe('an issuer with a path', () => {
  let issuer: TestIssuer
  beforeAll(async () => {
    issuer = await startIssuer({ issuerPath: '/realms/test' })
  })
  afterAll(() => issuer.close())

  it('puts the path in the issuer, its endpoints and both well-known places', async () => {
    expect(issuer.issuer).toBe(`${issuer.origin}/realms/test`)
    expect(issuer.jwksUri).toBe(`${issuer.issuer}/jwks`)
    const oidc = await getJson(`${issuer.issuer}/.well-known/openid-configuration`)
    expect(oidc.body.issuer).toBe(issuer.issuer)
    const rfc8414 = await getJson(
      `${issuer.origin}/.well-known/oauth-authorization-server/realms/test`,
    )
    expect(rfc8414.body.issuer).toBe(issuer.issuer)
    expect((await fetch(`${issuer.origin}/.well-known/openid-configuration`)).status).toBe(404)
  })

  it('mints tokens that verify with that issuer', async () => {
    const { payload } = await verify(issuer, await issuer.mint())
    expect(payload.iss).toBe(issuer.issuer)
  })
})

describe('mint', () => {
  let issuer: TestIssuer
  beforeAll(async () => {
    issuer = await startIssuer()
  })
  afterAll(() => issuer.close())

  it('mints an RFC 9068 access token with sensible defaults', async () => {
    const before = Math.floor(Date.now() / 1000)
    const token = await issuer.mint()
    const { payload, protectedHeader } = await verify(issuer, token)
    expect(protectedHeader).toEqual({ alg: 'RS256', kid: issuer.kids[0], typ: 'at+jwt' })
    expect(payload).toEqual({
      iss: issuer.issuer,
      sub: 'test-user',
      aud: 'api',
      iat: expect.any(Number),
      exp: payload.iat! + 300,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      client_id: 'test-client',
    })
    expect(payload.iat).toBeGreaterThanOrEqual(before)
    expect(decodeJwt(await issuer.mint()).jti).not.toBe(payload.jti)
  })

  it('overrides claims, and removes those set to undefined', async () => {
    const token = await issuer.mint(
      { sub: 'alice', aud: ['api', 'other'], scope: 'read write', client_id: undefined, tid: 't1' },
      { expiresInSeconds: 60 },
    )
    const { payload } = await verify(issuer, token)
    expect(payload).toMatchObject({ sub: 'alice', aud: ['api', 'other'], scope: 'read write' })
    expect(payload.tid).toBe('t1')
    expect(payload).not.toHaveProperty('client_id')
    expect(payload.exp).toBe(payload.iat! + 60)
  })

  it('mints a token without exp, or with exp as given', async () => {
    expect(decodeJwt(await issuer.mint({ exp: undefined }))).not.toHaveProperty('exp')
    expect(decodeJwt(await issuer.mint({ exp: 2_000_000_000 })).exp).toBe(2_000_000_000)
    expect(decodeJwt(await issuer.mint({ exp: 'soon' as unknown as number })).exp).toBe('soon')
  })

  it('derives exp from an overridden iat or from issuedAt', async () => {
    expect(decodeJwt(await issuer.mint({ iat: 1_700_000_000 }))).toMatchObject({
      iat: 1_700_000_000,
      exp: 1_700_000_300,
    })
    const issuedAt = new Date('2030-01-01T00:00:00Z')
    expect(decodeJwt(await issuer.mint({}, { issuedAt, expiresInSeconds: 10 }))).toMatchObject({
      iat: 1_893_456_000,
      exp: 1_893_456_010,
    })
  })

  it('mints expired and not-yet-valid tokens that jose refuses', async () => {
    const expired = await issuer.mint({}, { expiresInSeconds: -10 })
    await expect(verify(issuer, expired)).rejects.toBeInstanceOf(errors.JWTExpired)
    const future = await issuer.mint({ nbf: Math.floor(Date.now() / 1000) + 3600 })
    await expect(verify(issuer, future)).rejects.toBeInstanceOf(errors.JWTClaimValidationFailed)
  })

  it('overrides and removes header parameters', async () => {
    const id = await issuer.mint({}, { header: { typ: 'JWT' } })
    expect(decodeProtectedHeader(id).typ).toBe('JWT')
    await verify(issuer, id)
    const bare = await issuer.mint({}, { header: { typ: undefined, kid: undefined } })
    expect(decodeProtectedHeader(bare)).toEqual({ alg: 'RS256' })
    const extra = await issuer.mint({}, { header: { jku: 'https://attacker.example/jwks' } })
    expect(decodeProtectedHeader(extra).jku).toBe('https://attacker.example/jwks')
  })

  it('writes an unknown kid into the header, which no published key matches', async () => {
    const token = await issuer.mint({}, { header: { kid: 'not-published' } })
    expect(decodeProtectedHeader(token).kid).toBe('not-published')
    await expect(verify(issuer, token)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey)
  })

  it('refuses header.alg for a key it does not hold, naming the keys it holds', async () => {
    await expect(issuer.mint({}, { header: { alg: 'ES256' } })).rejects.toThrow(
      /header\.alg ES256 names no key this issuer holds \(it holds RS256/,
    )
  })

  it('forges a token whose signature the published key does not verify', async () => {
    const token = await issuer.mint({}, { forged: true })
    expect(decodeProtectedHeader(token).kid).toBe(issuer.kids[0])
    await expect(verify(issuer, token)).rejects.toBeInstanceOf(
      errors.JWSSignatureVerificationFailed,
    )
  })

  it('rejects a non-finite expiresInSeconds', async () => {
    await expect(issuer.mint({}, { expiresInSeconds: Number.NaN })).rejects.toThrow(
      'mint: expiresInSeconds must be a finite number; got NaN',
    )
    await expect(issuer.mintOpaque({}, { expiresInSeconds: Infinity })).rejects.toThrow(
      'mintOpaque: expiresInSeconds must be a finite number',
    )
  })
})

describe('signing algorithms', () => {
  it.each<SigningAlgorithm>(['ES256', 'EdDSA', 'PS256', 'ES384'])(
    'signs with %s when started with it',
    async (alg) => {
      const issuer = await startIssuer({ algorithm: alg })
      try {
        const { protectedHeader } = await verify(issuer, await issuer.mint())
        expect(protectedHeader.alg).toBe(alg)
        const discovery = await getJson(issuer.discoveryUrl)
        expect(discovery.body.id_token_signing_alg_values_supported).toEqual([alg])
      } finally {
        await issuer.close()
      }
    },
  )

  it('holds one key per algorithm; the first signs, header.alg picks another', async () => {
    const issuer = await startIssuer({ algorithm: ['RS256', 'ES256', 'EdDSA'] })
    try {
      const { body } = await getJson(issuer.jwksUri)
      expect(body.keys.map((key: { alg: string }) => key.alg)).toEqual(['RS256', 'ES256', 'EdDSA'])
      expect(body.keys.map((key: { kid: string }) => key.kid)).toEqual(issuer.kids)
      expect(decodeProtectedHeader(await issuer.mint()).alg).toBe('RS256')
      for (const alg of ['ES256', 'EdDSA'] as const) {
        const token = await issuer.mint({}, { header: { alg } })
        const { protectedHeader } = await verify(issuer, token)
        expect(protectedHeader).toMatchObject({ alg, kid: issuer.kids[alg === 'ES256' ? 1 : 2] })
      }
    } finally {
      await issuer.close()
    }
  })
})

describe('options', () => {
  it.each([
    [{ issuerPath: 'realms/test' }, 'startIssuer: issuerPath must be'],
    [{ issuerPath: '/realms/test/' }, 'startIssuer: issuerPath must be'],
    [{ algorithm: 'HS256' }, 'startIssuer: algorithm must be one or more distinct of RS256'],
    [{ algorithm: ['RS256', 'RS256'] }, 'startIssuer: algorithm must be'],
    [{ algorithm: [] }, 'startIssuer: algorithm must be'],
    [{ outageMode: 'refuse' }, "startIssuer: outageMode must be 'status' or 'reset'"],
    [{ port: 70_000 }, 'startIssuer: port must be an integer 0-65535'],
    [{ client: { clientId: 'rs', clientSecret: '' } }, 'startIssuer: client must be'],
    [{ audience: ['api', 3] }, 'startIssuer: audience must be'],
    [{ expiresInSeconds: Number.NaN }, 'startIssuer: expiresInSeconds must be a finite number'],
    [{ clock: 5 }, 'startIssuer: clock must be a function'],
  ])('rejects %j', async (options, message) => {
    await expect(startIssuer(options as never)).rejects.toThrow(message)
  })

  it('uses the token defaults, clock and metadata it was given', async () => {
    const now = Date.UTC(2030, 0, 1)
    const issuer = await startIssuer({
      audience: ['api', 'https://api.example.test'],
      subject: 'svc',
      clientId: 'my-app',
      expiresInSeconds: 30,
      clock: () => now,
      metadata: { scopes_supported: ['read'], subject_types_supported: undefined },
    })
    try {
      expect(decodeJwt(await issuer.mint())).toMatchObject({
        aud: ['api', 'https://api.example.test'],
        sub: 'svc',
        client_id: 'my-app',
        iat: now / 1000,
        exp: now / 1000 + 30,
      })
      const { body } = await getJson(issuer.discoveryUrl)
      expect(body.scopes_supported).toEqual(['read'])
      expect(body).not.toHaveProperty('subject_types_supported')
    } finally {
      await issuer.close()
    }
  })

  it('rejects a taken port', async () => {
    const first = await startIssuer()
    try {
      await expect(startIssuer({ port: first.port })).rejects.toThrow(/EADDRINUSE/)
    } finally {
      await first.close()
    }
  })
})
