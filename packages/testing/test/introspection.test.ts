// RFC 7662 introspection through real HTTP: client_secret_basic and client_secret_post, active
// answers with the minted claims, inactive ones for unknown, revoked, expired and not-yet-valid
// tokens, and the client errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startIssuer, type TestIssuer } from '@tokenward/testing'

const formEncode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2)

/** `Basic base64(urlencode(id):urlencode(secret))`, RFC 6749 §2.3.1. */
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${formEncode(id)}:${formEncode(secret)}`).toString('base64')}`

interface Answer {
  status: number
  body: any
  headers: Headers
}

async function post(
  url: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form),
  })
  return { status: res.status, body: await res.json(), headers: res.headers }
}

describe('introspection', () => {
  let issuer: TestIssuer
  let now = Date.now()
  const introspect = (token: string) =>
    post(
      issuer.introspectionEndpoint,
      { token },
      { authorization: basic(issuer.client.clientId, issuer.client.clientSecret) },
    )

  beforeAll(async () => {
    issuer = await startIssuer({ clock: () => now })
  })
  afterAll(() => issuer.close())

  it('answers active with the opaque token claims, through client_secret_basic', async () => {
    const token = await issuer.mintOpaque({ aud: 'api', sub: 'alice', scope: 'read' })
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const { status, body, headers } = await introspect(token)
    expect(status).toBe(200)
    expect(headers.get('cache-control')).toBe('no-store')
    const iat = Math.floor(now / 1000)
    expect(body).toEqual({
      active: true,
      token_type: 'Bearer',
      iss: issuer.issuer,
      sub: 'alice',
      aud: 'api',
      iat,
      exp: iat + 300,
      jti: expect.any(String),
      client_id: 'test-client',
      scope: 'read',
    })
  })

  it('accepts client_secret_post and a token_type_hint', async () => {
    const token = await issuer.mintOpaque()
    const { status, body } = await post(issuer.introspectionEndpoint, {
      token,
      token_type_hint: 'access_token',
      client_id: issuer.client.clientId,
      client_secret: issuer.client.clientSecret,
    })
    expect(status).toBe(200)
    expect(body.active).toBe(true)
  })

  it('introspects the JWTs it minted too', async () => {
    const token = await issuer.mint({ scope: 'read' })
    const { body } = await introspect(token)
    expect(body).toMatchObject({ active: true, token_type: 'Bearer', scope: 'read', aud: 'api' })
  })

  it('answers only active: false for unknown, revoked, expired and not-yet-valid tokens', async () => {
    expect((await introspect('never-minted')).body).toEqual({ active: false })

    const revoked = await issuer.mintOpaque()
    expect(issuer.revoke(revoked)).toBe(true)
    expect((await introspect(revoked)).body).toEqual({ active: false })
    const revokedJwt = await issuer.mint()
    issuer.revoke(revokedJwt)
    expect((await introspect(revokedJwt)).body).toEqual({ active: false })
    expect(issuer.revoke('never-minted')).toBe(false)

    const expired = await issuer.mintOpaque({}, { expiresInSeconds: -1 })
    expect((await introspect(expired)).body).toEqual({ active: false })
    const early = await issuer.mintOpaque({ nbf: Math.floor(now / 1000) + 60 })
    expect((await introspect(early)).body).toEqual({ active: false })
  })

  it('follows the issuer clock: a token expires when the clock passes exp', async () => {
    const token = await issuer.mintOpaque({}, { expiresInSeconds: 10 })
    expect((await introspect(token)).body.active).toBe(true)
    now += 10_000
    expect((await introspect(token)).body).toEqual({ active: false })
  })

  it('lets the claims remove token_type or any default', async () => {
    const token = await issuer.mintOpaque({ token_type: undefined, client_id: undefined })
    const { body } = await introspect(token)
    expect(body.active).toBe(true)
    expect(body).not.toHaveProperty('token_type')
    expect(body).not.toHaveProperty('client_id')
  })

  it('answers 401 invalid_client to a wrong or missing client', async () => {
    const token = await issuer.mintOpaque()
    const wrongSecret = await post(
      issuer.introspectionEndpoint,
      { token },
      { authorization: basic(issuer.client.clientId, 'wrong') },
    )
    expect(wrongSecret.status).toBe(401)
    expect(wrongSecret.body.error).toBe('invalid_client')
    expect(wrongSecret.headers.get('www-authenticate')).toBe('Basic realm="introspection"')

    const wrongId = await post(issuer.introspectionEndpoint, {
      token,
      client_id: 'someone-else',
      client_secret: issuer.client.clientSecret,
    })
    expect(wrongId.status).toBe(401)
    expect(wrongId.body.error).toBe('invalid_client')
    expect(wrongId.headers.get('www-authenticate')).toBeNull()

    const none = await post(issuer.introspectionEndpoint, { token })
    expect(none.status).toBe(401)
    expect(none.body).toEqual({
      error: 'invalid_client',
      error_description: 'client authentication is required',
    })

    const malformed = await post(
      issuer.introspectionEndpoint,
      { token },
      { authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` },
    )
    expect(malformed.status).toBe(401)
  })

  it('answers 400 to two authentication methods and to a missing token', async () => {
    const both = await post(
      issuer.introspectionEndpoint,
      { token: 'x', client_id: issuer.client.clientId, client_secret: issuer.client.clientSecret },
      { authorization: basic(issuer.client.clientId, issuer.client.clientSecret) },
    )
    expect(both.status).toBe(400)
    expect(both.body.error).toBe('invalid_request')

    const noToken = await post(
      issuer.introspectionEndpoint,
      {},
      { authorization: basic(issuer.client.clientId, issuer.client.clientSecret) },
    )
    expect(noToken.status).toBe(400)
    expect(noToken.body).toEqual({
      error: 'invalid_request',
      error_description: 'token is missing',
    })
  })

  it('answers 405 to a GET and 413 to an oversized body', async () => {
    const get = await fetch(issuer.introspectionEndpoint)
    expect(get.status).toBe(405)
    expect(get.headers.get('allow')).toBe('POST')
    const big = await post(issuer.introspectionEndpoint, { token: 'x'.repeat(70_000) })
    expect(big.status).toBe(413)
  })
})

describe('introspection client credentials', () => {
  it('decodes form-urlencoded Basic credentials (RFC 6749 §2.3.1)', async () => {
    const client = { clientId: 'api@acme:1', clientSecret: 'p a+ss/w:ord%' }
    const issuer = await startIssuer({ client })
    try {
      expect(issuer.client).toEqual(client)
      const token = await issuer.mintOpaque()
      const answer = await post(
        issuer.introspectionEndpoint,
        { token },
        { authorization: basic(client.clientId, client.clientSecret) },
      )
      expect(answer.body.active).toBe(true)
      const viaPost = await post(issuer.introspectionEndpoint, {
        token,
        client_id: client.clientId,
        client_secret: client.clientSecret,
      })
      expect(viaPost.body.active).toBe(true)
    } finally {
      await issuer.close()
    }
  })

  it('gives each issuer its own random secret by default', async () => {
    const [a, b] = await Promise.all([startIssuer(), startIssuer()])
    try {
      expect(a.client.clientId).toBe('test-resource-server')
      expect(a.client.clientSecret).not.toBe(b.client.clientSecret)
      expect(a.client.clientSecret.length).toBeGreaterThanOrEqual(20)
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })
})
