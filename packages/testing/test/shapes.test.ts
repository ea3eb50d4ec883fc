// The ZITADEL and Keycloak token shapes: their claims and headers (ZITADEL's claims reference and
// its JWT access tokens: `typ` JWT, every app's client id and the project id in `aud`, `client_id`
// but no `azp`, role claims as role → { org id: org domain }), verified through the issuer's JWKS,
// introspected as ZITADEL's introspection endpoint answers, and read by @tokenward/core's presets
// as a resource server of that issuer would.
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createValidator } from '@tokenward/core'
import { keycloak, startIssuer, zitadel, type TestIssuer } from '@tokenward/testing'

const PROJECT = '170086774599581953'
const PORTAL = '170086824411201793@portal'
const SIBLING = '209806276543185153@portal'
const ORG = '170086363054473473'

async function introspect(issuer: TestIssuer, token: string): Promise<any> {
  const res = await fetch(issuer.introspectionEndpoint, {
    method: 'POST',
    body: new URLSearchParams({
      token,
      client_id: issuer.client.clientId,
      client_secret: issuer.client.clientSecret,
    }),
  })
  return res.json()
}

describe('zitadel()', () => {
  let issuer: TestIssuer
  beforeAll(async () => {
    issuer = await startIssuer()
  })
  afterAll(() => issuer.close())

  const shape = zitadel({
    projectId: PROJECT,
    clientIds: [PORTAL, SIBLING],
    roles: { reader: { [ORG]: 'acme.localhost' } },
  })

  it('mints ZITADEL JWT access tokens: multi-audience, client_id, role claims, typ JWT', async () => {
    const token = await issuer.mint({ sub: '170848145649959169' }, { shape })
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(issuer.jwksUri)), {
      issuer: issuer.issuer,
      audience: PROJECT,
    })
    expect(decodeProtectedHeader(token)).toMatchObject({ typ: 'JWT', alg: 'RS256' })
    const roles = { reader: { [ORG]: 'acme.localhost' } }
    expect(payload).toEqual({
      iss: issuer.issuer,
      sub: '170848145649959169',
      aud: [PORTAL, SIBLING, PROJECT],
      iat: expect.any(Number),
      nbf: payload.iat,
      exp: payload.iat! + 300,
      jti: expect.stringMatching(/^V2_\d+-at_\d+$/),
      client_id: PORTAL,
      [`urn:zitadel:iam:org:project:${PROJECT}:roles`]: roles,
      'urn:zitadel:iam:org:project:roles': roles,
    })
    expect(payload).not.toHaveProperty('azp')
    expect(payload).not.toHaveProperty('scope')
  })

  it('grants role names in one organisation, and asserts no roles when given none', async () => {
    const named = await issuer.mint(
      {},
      { shape: zitadel({ projectId: PROJECT, roles: ['admin', 'reader'], orgId: ORG }) },
    )
    const claims = decodeJwt(named)
    expect(claims[`urn:zitadel:iam:org:project:${PROJECT}:roles`]).toEqual({
      admin: { [ORG]: 'test.localhost' },
      reader: { [ORG]: 'test.localhost' },
    })
    const none = await issuer.mint({}, { shape: zitadel({ projectId: PROJECT }) })
    const bare = decodeJwt(none)
    expect(Object.keys(bare).filter((key) => key.startsWith('urn:zitadel'))).toEqual([])
    expect(bare.aud).toEqual(['100000000000000002@test', PROJECT])
  })

  it('puts the token app first when it is not among clientIds, then extra project ids', async () => {
    const token = await issuer.mint(
      {},
      {
        shape: zitadel({
          projectId: PROJECT,
          clientId: 'other@portal',
          clientIds: [PORTAL],
          extraAudience: ['252855702316398078'],
        }),
      },
    )
    const claims = decodeJwt(token)
    expect(claims.aud).toEqual(['other@portal', PORTAL, PROJECT, '252855702316398078'])
    expect(claims.client_id).toBe('other@portal')
  })

  it('lets the call override the shape', async () => {
    const token = await issuer.mint({ aud: PROJECT, scope: 'openid' }, { shape })
    const claims = decodeJwt(token)
    expect(claims).toMatchObject({ aud: PROJECT, scope: 'openid', client_id: PORTAL })
  })

  it('requires a project id', () => {
    expect(() => zitadel({ projectId: '' })).toThrow(
      'zitadel: projectId must be a non-empty string',
    )
  })

  it('introspects an opaque ZITADEL token as ZITADEL answers', async () => {
    const token = await issuer.mintOpaque({ sub: '170848145649959169' }, { shape })
    const answer = await introspect(issuer, token)
    expect(answer).toMatchObject({
      active: true,
      token_type: 'Bearer',
      scope: `openid profile urn:zitadel:iam:org:project:id:${PROJECT}:aud`,
      client_id: PORTAL,
      aud: [PORTAL, SIBLING, PROJECT],
      'urn:zitadel:iam:org:project:roles': { reader: { [ORG]: 'acme.localhost' } },
    })
  })

  it('is read by the core zitadel preset, over JWT and introspection', async () => {
    const validator = createValidator({
      issuer: issuer.issuer,
      audience: { trusted: [PROJECT, PORTAL, SIBLING], mode: 'strict', required: [PROJECT] },
      roles: { preset: 'zitadel', projectId: PROJECT },
      introspection: {
        auth: { method: 'client_secret_basic', ...issuer.client },
      },
    })
    try {
      const jwt = await validator.validate(await issuer.mint({}, { shape }), { roles: ['reader'] })
      expect(jwt).toMatchObject({ source: 'jwt', roles: { reader: [ORG] }, subject: 'test-user' })
      const opaque = await validator.validate(await issuer.mintOpaque({}, { shape }))
      expect(opaque).toMatchObject({ source: 'introspection', roles: { reader: [ORG] } })
    } finally {
      await validator.close()
    }
  })
})

describe('keycloak()', () => {
  let issuer: TestIssuer
  beforeAll(async () => {
    issuer = await startIssuer({ issuerPath: '/realms/test' })
  })
  afterAll(() => issuer.close())

  const shape = keycloak({
    realmRoles: ['offline_access', 'admin'],
    clientRoles: { api: ['reports:read'], account: ['view-profile'] },
    audience: 'api',
    clientId: 'web',
  })

  it('mints Keycloak access tokens: realm_access, resource_access, azp, typ Bearer', async () => {
    const token = await issuer.mint({ sub: 'f1b2c3' }, { shape })
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(issuer.jwksUri)), {
      issuer: issuer.issuer,
      audience: 'api',
    })
    expect(payload.iss).toBe(`${issuer.origin}/realms/test`)
    expect(decodeProtectedHeader(token).typ).toBe('JWT')
    expect(payload).toMatchObject({
      sub: 'f1b2c3',
      aud: 'api',
      typ: 'Bearer',
      azp: 'web',
      scope: 'openid profile email',
      preferred_username: 'f1b2c3',
      realm_access: { roles: ['offline_access', 'admin'] },
      resource_access: { api: { roles: ['reports:read'] }, account: { roles: ['view-profile'] } },
    })
    expect(payload).not.toHaveProperty('client_id')
    expect(payload.sid).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('has no aud without an audience (no audience mapper), an array for several', async () => {
    const plain = await issuer.mint({}, { shape: keycloak() })
    const claims = decodeJwt(plain)
    expect(claims).not.toHaveProperty('aud')
    expect(claims).not.toHaveProperty('realm_access')
    expect(claims.azp).toBe('test-client')
    const two = await issuer.mint({}, { shape: keycloak({ audience: ['api', 'account'] }) })
    expect(decodeJwt(two).aud).toEqual(['api', 'account'])
  })

  it('is read by the core keycloak preset', async () => {
    const validator = createValidator({ issuer: issuer.issuer, audience: 'api', roles: 'keycloak' })
    try {
      const auth = await validator.validate(await issuer.mint({}, { shape }), {
        roles: ['admin', 'api:reports:read'],
      })
      expect(Object.keys(auth.roles).sort()).toEqual([
        'account:view-profile',
        'admin',
        'api:reports:read',
        'offline_access',
      ])
      expect(auth.scopes).toEqual(['openid', 'profile', 'email'])
    } finally {
      await validator.close()
    }
  })
})
