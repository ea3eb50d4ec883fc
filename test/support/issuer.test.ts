import * as crypto from 'node:crypto'

import {
  SignJWT,
  createRemoteJWKSet,
  decodeProtectedHeader,
  jwtVerify,
  type JSONWebKeySet,
} from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import {
  refusedUrl,
  startFaultServer,
  type FaultServer,
} from '../../packages/core/test/support/fault-server.js'
import { startIssuer, zitadelShape, type TestIssuer, type ZitadelKeyFile } from './issuer.js'

const form = (fields: Record<string, string>) => new URLSearchParams(fields)
const urlencode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+')
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${urlencode(id)}:${urlencode(secret)}`).toString('base64')}`

async function clientAssertion(keyFile: ZitadelKeyFile, audience: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', kid: keyFile.keyId })
    .setIssuer(keyFile.clientId)
    .setSubject(keyFile.clientId)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime('1m')
    .setJti(crypto.randomUUID())
    .sign(crypto.createPrivateKey(keyFile.key))
}

type Method = 'basic' | 'post' | 'privateKeyJwt'

async function introspect(
  issuer: TestIssuer,
  token: string,
  method: Method,
  assertionAudience = issuer.issuer,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const clients = issuer.introspectionClients
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  }
  const body = form({ token, token_type_hint: 'access_token' })
  if (method === 'basic') {
    headers.authorization = basic(clients.basic.clientId, clients.basic.clientSecret)
  } else if (method === 'post') {
    body.set('client_id', clients.post.clientId)
    body.set('client_secret', clients.post.clientSecret)
  } else {
    const { keyFile } = clients.privateKeyJwt
    body.set('client_id', keyFile.clientId)
    body.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
    body.set('client_assertion', await clientAssertion(keyFile, assertionAudience))
  }
  const response = await fetch(issuer.introspectionEndpoint, { method: 'POST', headers, body })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url)
  return { status: response.status, body: await response.json() }
}

const zitadel = zitadelShape({
  projectId: '259241958146205699',
  clientIds: ['259241958146336771@tokenward', '259241958146402307@tokenward'],
  roles: { admin: { '259241958146140163': 'acme.zitadel.cloud' } },
  clientId: '259241958146336771@tokenward',
})

describe('startIssuer (real oidc-provider)', () => {
  let issuer: TestIssuer

  beforeAll(async () => {
    issuer = await startIssuer({ algorithms: ['RS256', 'ES256'] })
  })
  afterAll(() => issuer.close())

  it('serves discovery with exactly the issuer URL and counts requests', async () => {
    expect(issuer.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const before = issuer.requests.discovery
    const { status, body } = await getJson(`${issuer.issuer}/.well-known/openid-configuration`)
    expect(status).toBe(200)
    expect(body).toMatchObject({
      issuer: issuer.issuer,
      jwks_uri: issuer.jwksUri,
      token_endpoint: issuer.tokenEndpoint,
      introspection_endpoint: issuer.introspectionEndpoint,
      revocation_endpoint: issuer.revocationEndpoint,
      introspection_endpoint_auth_methods_supported: [
        'client_secret_basic',
        'client_secret_post',
        'private_key_jwt',
      ],
    })
    const rfc8414 = await getJson(`${issuer.issuer}/.well-known/oauth-authorization-server`)
    expect(rfc8414.body).toEqual(body)
    expect(issuer.requests.discovery).toBe(before + 2)
  })

  it('publishes the signing keys (public parts only) in the JWKS', async () => {
    const before = issuer.requests.jwks
    const { body } = await getJson(issuer.jwksUri)
    const { keys } = body as JSONWebKeySet
    expect(keys.map((key) => key.kid)).toEqual(issuer.kids)
    expect(keys.map((key) => [key.kty, key.alg, key.use])).toEqual([
      ['RSA', 'RS256', 'sig'],
      ['EC', 'ES256', 'sig'],
    ])
    expect(keys.every((key) => key.d === undefined)).toBe(true)
    expect(issuer.requests.jwks).toBe(before + 1)
  })

  it('mints a JWT access token at the token endpoint that verifies against the remote JWKS', async () => {
    const { token, expiresIn, tokenType } = await issuer.issueToken({ scope: 'read write' })
    expect(expiresIn).toBe(300)
    expect(tokenType).toBe('Bearer')
    const jwks = createRemoteJWKSet(new URL(issuer.jwksUri))
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: issuer.issuer,
      audience: issuer.resource,
    })
    expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'at+jwt', kid: issuer.kids[0] })
    expect(payload).toMatchObject({
      iss: issuer.issuer,
      aud: 'https://api.tokenward.test',
      client_id: 'api-client',
      sub: 'api-client',
      scope: 'read write',
    })
    expect(payload.exp! - payload.iat!).toBe(300)
  })

  it('shapes ZITADEL-style JWTs: aud array, typ JWT, role claims', async () => {
    const { token } = await issuer.issueToken(zitadel)
    const { payload, protectedHeader } = await jwtVerify(
      token,
      createRemoteJWKSet(new URL(issuer.jwksUri)),
      { issuer: issuer.issuer, audience: '259241958146205699', typ: 'JWT' },
    )
    expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'JWT' })
    expect(payload.aud).toEqual([
      '259241958146336771@tokenward',
      '259241958146402307@tokenward',
      '259241958146205699',
    ])
    expect(payload.client_id).toBe('259241958146336771@tokenward')
    const roles = { admin: { '259241958146140163': 'acme.zitadel.cloud' } }
    expect(payload['urn:zitadel:iam:org:project:259241958146205699:roles']).toEqual(roles)
    expect(payload['urn:zitadel:iam:org:project:roles']).toEqual(roles)
  })

  it('lets claims override/delete standard claims and sets a single audience and lifetime', async () => {
    const { token, expiresIn } = await issuer.issueToken({
      audience: 'https://other.example',
      claims: { iss: 'https://evil.example', client_id: undefined, nbf: 1 },
      expiresInSeconds: 60,
    })
    expect(expiresIn).toBe(60)
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(issuer.jwksUri)))
    expect(payload).toMatchObject({
      iss: 'https://evil.example',
      aud: 'https://other.example',
      nbf: 1,
    })
    expect(payload).not.toHaveProperty('client_id')
    expect(payload.exp! - payload.iat!).toBe(60)
  })

  it('signs with the ES256 key when asked', async () => {
    const { token } = await issuer.issueToken({ alg: 'ES256' })
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', kid: issuer.kids[1] })
    await jwtVerify(token, createRemoteJWKSet(new URL(issuer.jwksUri)), { algorithms: ['ES256'] })
    await expect(issuer.issueToken({ alg: 'PS256' })).rejects.toThrow(/no PS256 signing key/)
  })

  it('keeps concurrent shapes apart', async () => {
    const tokens = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        issuer.issueToken({ claims: { n: i }, audience: [`aud-${i}`, 'common'] }),
      ),
    )
    const jwks = createRemoteJWKSet(new URL(issuer.jwksUri))
    for (const [i, { token }] of tokens.entries()) {
      const { payload } = await jwtVerify(token, jwks)
      expect(payload.n).toBe(i)
      expect(payload.aud).toEqual([`aud-${i}`, 'common'])
    }
  })

  it.each<Method>(['basic', 'post', 'privateKeyJwt'])(
    'introspects an opaque token as active (%s) and inactive after revoke',
    async (method) => {
      const { token } = await issuer.issueToken({ format: 'opaque', scope: 'read' })
      expect(token.split('.')).toHaveLength(1)
      const active = await introspect(issuer, token, method)
      expect(active.status).toBe(200)
      expect(active.body).toEqual({
        active: true,
        client_id: 'api-client',
        exp: expect.any(Number),
        iat: expect.any(Number),
        iss: issuer.issuer,
        aud: issuer.resource,
        scope: 'read',
        token_type: 'Bearer',
      })
      await issuer.revoke(token)
      const revoked = await introspect(issuer, token, method)
      expect(revoked).toEqual({ status: 200, body: { active: false } })
    },
  )

  it('accepts private_key_jwt assertions whose aud is the issuer, token or introspection endpoint only', async () => {
    const { token } = await issuer.issueToken({ format: 'opaque' })
    for (const aud of [issuer.issuer, issuer.tokenEndpoint, issuer.introspectionEndpoint]) {
      expect((await introspect(issuer, token, 'privateKeyJwt', aud)).body.active).toBe(true)
    }
    const wrong = await introspect(issuer, token, 'privateKeyJwt', `${issuer.issuer}/`)
    expect(wrong.status).toBe(401)
    expect(wrong.body.error).toBe('invalid_client')
  })

  it('shapes the introspection answer of opaque tokens (aud array, role claims)', async () => {
    const { token } = await issuer.issueToken({ format: 'opaque', ...zitadel })
    const { body } = await introspect(issuer, token, 'basic')
    expect(body).toMatchObject({
      active: true,
      aud: ['259241958146336771@tokenward', '259241958146402307@tokenward', '259241958146205699'],
      'urn:zitadel:iam:org:project:259241958146205699:roles': {
        admin: { '259241958146140163': 'acme.zitadel.cloud' },
      },
      'urn:zitadel:iam:org:project:roles': {
        admin: { '259241958146140163': 'acme.zitadel.cloud' },
      },
      // the provider overrides client_id in introspection answers
      client_id: 'api-client',
    })
    expect(await issuer.introspect(token)).toEqual(body)
  })

  it('rejects wrong client credentials at the introspection endpoint', async () => {
    const response = await fetch(issuer.introspectionEndpoint, {
      method: 'POST',
      headers: {
        authorization: basic(issuer.introspectionClients.basic.clientId, 'wrong'),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: form({ token: 'whatever' }),
    })
    expect(response.status).toBe(401)
    expect(await response.json()).toMatchObject({ error: 'invalid_client' })
  })
})

describe('key rotation and outages', () => {
  let issuer: TestIssuer

  beforeAll(async () => {
    issuer = await startIssuer()
  })
  afterAll(() => issuer.close())

  it('rotateKeys swaps the JWKS behind the same URL; new tokens carry the new kid', async () => {
    const [oldKid] = issuer.kids
    const oldJwt = (await issuer.issueToken()).token
    const opaque = (await issuer.issueToken({ format: 'opaque' })).token

    const { kids } = await issuer.rotateKeys(['ES256'])
    expect(kids).toHaveLength(1)
    expect(kids[0]).not.toBe(oldKid)
    expect(issuer.kids).toEqual(kids)

    const { body } = await getJson(issuer.jwksUri)
    expect((body as JSONWebKeySet).keys.map((key) => key.kid)).toEqual(kids)
    const discovery = await getJson(issuer.discoveryUrl)
    expect(discovery.body).toMatchObject({ issuer: issuer.issuer })

    const { token } = await issuer.issueToken()
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', kid: kids[0] })
    const jwks = createRemoteJWKSet(new URL(issuer.jwksUri))
    await jwtVerify(token, jwks, { issuer: issuer.issuer })
    await expect(jwtVerify(oldJwt, jwks)).rejects.toMatchObject({
      code: 'ERR_JWKS_NO_MATCHING_KEY',
    })
    // stored opaque tokens survive the swap
    expect((await issuer.introspect(opaque)).active).toBe(true)
  })

  it('rotateKeys can keep publishing the previous keys', async () => {
    const previous = issuer.kids
    const { kids } = await issuer.rotateKeys(undefined, { retainPrevious: true })
    expect(issuer.kids).toEqual([...kids, ...previous])
    const { token } = await issuer.issueToken()
    expect(decodeProtectedHeader(token).kid).toBe(kids[0])
  })

  it('setDown simulates an outage and recovery', async () => {
    issuer.resetRequests()
    issuer.setDown(true)
    const down = await fetch(issuer.discoveryUrl)
    expect(down.status).toBe(503)
    await down.arrayBuffer()
    expect((await fetch(issuer.jwksUri)).status).toBe(503)
    await expect(issuer.introspect('x')).rejects.toThrow(/503/)

    issuer.setDown(true, 'reset')
    await expect(fetch(issuer.discoveryUrl)).rejects.toThrow()

    issuer.setDown(false)
    expect((await getJson(issuer.discoveryUrl)).body).toMatchObject({ issuer: issuer.issuer })
    expect(issuer.requests).toMatchObject({ discovery: 3, jwks: 1, introspection: 1 })
  })
})

describe('fault server', () => {
  let faults: FaultServer

  beforeAll(async () => {
    faults = await startFaultServer()
  })
  afterAll(() => faults.close())

  it('answers status/body/headers as JSON or text and records requests', async () => {
    faults.setRoute('/json', { status: 500, body: { error: 'boom' }, headers: { 'x-a': '1' } })
    faults.setRoute('/text', { status: 200, body: 'plain' })
    const json = await fetch(`${faults.url}/json?q=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic x' },
      body: 'token=abc',
    })
    expect(json.status).toBe(500)
    expect(json.headers.get('content-type')).toBe('application/json')
    expect(json.headers.get('x-a')).toBe('1')
    expect(await json.json()).toEqual({ error: 'boom' })
    const text = await fetch(`${faults.url}/text`)
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/)
    expect(await text.text()).toBe('plain')
    expect(faults.requestsTo('/json')).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: '/json',
        url: '/json?q=1',
        body: 'token=abc',
        headers: expect.objectContaining({ authorization: 'Basic x' }),
      }),
    ])
    expect((await fetch(`${faults.url}/nope`)).status).toBe(404)
  })

  it('delays, then answers', async () => {
    faults.setRoute('/slow', { delayMs: 150, then: { status: 200, body: { ok: true } } })
    const started = Date.now()
    const response = await fetch(`${faults.url}/slow`)
    expect(await response.json()).toEqual({ ok: true })
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)
  })

  it('sends garbage that is not JSON', async () => {
    faults.setRoute('/garbage', 'garbage')
    const response = await fetch(`${faults.url}/garbage`)
    expect(response.status).toBe(200)
    await expect(response.json()).rejects.toThrow(SyntaxError)
  })

  it('streams an oversized body', async () => {
    faults.setRoute('/big', { oversizedBytes: 3 * 1024 * 1024 + 7 })
    const response = await fetch(`${faults.url}/big`)
    expect(response.headers.get('content-length')).toBeNull()
    expect((await response.arrayBuffer()).byteLength).toBe(3 * 1024 * 1024 + 7)
  })

  it('hangs until the client gives up', async () => {
    faults.setRoute('/hang', 'hang')
    await expect(
      fetch(`${faults.url}/hang`, { signal: AbortSignal.timeout(100) }),
    ).rejects.toMatchObject({ name: 'TimeoutError' })
  })

  it('resets the connection', async () => {
    faults.setRoute('/reset', 'reset')
    await expect(fetch(`${faults.url}/reset`)).rejects.toThrow(TypeError)
  })

  it('plays a sequence of behaviours, repeating the last', async () => {
    faults.setRoute('/seq', [{ status: 503 }, { status: 200, body: 'ok' }])
    const statuses = []
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${faults.url}/seq`)).status)
    expect(statuses).toEqual([503, 200, 200])
  })

  it('refusedUrl refuses connections', async () => {
    const url = await refusedUrl()
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    await expect(fetch(url)).rejects.toMatchObject({ cause: { code: 'ECONNREFUSED' } })
  })

  it('close() ends hanging requests instead of hanging the test', async () => {
    const other = await startFaultServer()
    other.setRoute('/hang', 'hang')
    other.setRoute('/slow', { delayMs: 60_000, then: 'garbage' })
    const pending = Promise.allSettled([fetch(`${other.url}/hang`), fetch(`${other.url}/slow`)])
    while (other.requests.length < 2) await new Promise((resolve) => setTimeout(resolve, 5))
    await other.close()
    const results = await pending
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected'])
  })
})
