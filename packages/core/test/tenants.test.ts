// Multi-tenant issuers, shaped like Entra ID: one issuer per tenant
// (`{origin}/{tenantid}/v2.0`), each with its own discovery document and key set, admitted by an
// issuer template. The tenants are the fault server's paths on 127.0.0.1.
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigurationError, createValidator, type ValidatorOptions } from '@tokenward/core'
import { startFaultServer, type FaultServer } from './support/fault-server.js'
import { rejection } from './support/tokens.js'

const TENANTS = ['72f988bf-86f1-41af-91ab-2d7cd011db47', '9188040d-6c67-4c5b-b112-36a304b66dad']
const AUD = 'api://orders'

let server: FaultServer
const keys = new Map<string, CryptoKey>()

const issuerOf = (tenant: string) => `${server.url}/${tenant}/v2.0`

beforeAll(async () => {
  server = await startFaultServer()
  for (const tenant of TENANTS) {
    const { publicKey, privateKey } = await generateKeyPair('RS256')
    keys.set(tenant, privateKey)
    server.setRoute(`/${tenant}/v2.0/.well-known/openid-configuration`, {
      status: 200,
      body: { issuer: issuerOf(tenant), jwks_uri: `${server.url}/${tenant}/keys` },
    })
    server.setRoute(`/${tenant}/keys`, {
      status: 200,
      body: { keys: [{ ...(await exportJWK(publicKey)), kid: tenant, alg: 'RS256' }] },
    })
  }
})
afterAll(async () => {
  await server.close()
})

/** An Entra-shaped access token of `tenant` (`iss` of the tenant, `tid`), signed by its key. */
function entraToken(tenant: string, claims: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ tid: tenant, sub: 'user', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: tenant, typ: 'JWT' })
    .setIssuer(issuerOf(tenant))
    .setAudience(AUD)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(keys.get(tenant)!)
}

const template = () => `${server.url}/{tenantid}/v2.0`
const validatorFor = (extra: Partial<ValidatorOptions> = {}) =>
  createValidator({ issuer: template(), audience: AUD, logger: false, ...extra })

describe('an issuer template admits every tenant, each with its own discovery and keys', () => {
  it('accepts a token of each tenant, verified with that tenant’s keys', async () => {
    const validator = validatorFor()
    for (const tenant of TENANTS) {
      const result = await validator.validate(await entraToken(tenant))
      expect(result.issuer).toBe(issuerOf(tenant))
    }
    for (const tenant of TENANTS) {
      expect(server.requestsTo(`/${tenant}/v2.0/.well-known/openid-configuration`)).toHaveLength(1)
    }
  })

  it('refuses a token signed by another tenant’s key (each tenant trusts only its own keys)', async () => {
    const [a, b] = TENANTS as [string, string]
    const forged = await new SignJWT({ tid: a, sub: 'user' })
      .setProtectedHeader({ alg: 'RS256', kid: a })
      .setIssuer(issuerOf(a))
      .setAudience(AUD)
      .setExpirationTime('5m')
      .sign(keys.get(b)!)
    const error = await rejection(validatorFor().validate(forged))
    expect([error.code, error.status]).toEqual(['invalid_signature', 401])
  })

  it('a tid that is not the tenant of iss is invalid_issuer, naming the template', async () => {
    const [a, b] = TENANTS as [string, string]
    const error = await rejection(validatorFor().validate(await entraToken(a, { tid: b })))
    expect([error.code, error.status]).toEqual(['invalid_issuer', 401])
    expect(error.description).toBe(
      `The token issuer is not trusted: '${issuerOf(a)}', expected '${template()}'`,
    )
  })

  it('{tenantid} is one path segment: an iss with more path is invalid_issuer', async () => {
    const token = await new SignJWT({ sub: 'user' })
      .setProtectedHeader({ alg: 'RS256', kid: 'x' })
      .setIssuer(`${server.url}/a/b/v2.0`)
      .setAudience(AUD)
      .setExpirationTime('5m')
      .sign(keys.get(TENANTS[0]!)!)
    expect((await rejection(validatorFor().validate(token))).code).toBe('invalid_issuer')
  })
})

describe('tenants: an allow-list (or hook) and a bound', () => {
  it('a tenant outside tenants.allowed is invalid_issuer, before anything is fetched', async () => {
    server.clearRequests()
    const [a, b] = TENANTS as [string, string]
    const validator = validatorFor({ tenants: { allowed: [a] } })
    expect((await validator.validate(await entraToken(a))).issuer).toBe(issuerOf(a))
    expect((await rejection(validator.validate(await entraToken(b)))).code).toBe('invalid_issuer')
    expect(server.requestsTo(`/${b}/v2.0/.well-known/openid-configuration`)).toHaveLength(0)
  })

  it('a hook decides per tenant', async () => {
    const [a, b] = TENANTS as [string, string]
    const validator = validatorFor({ tenants: { allowed: (tenant) => tenant === b } })
    expect((await rejection(validator.validate(await entraToken(a)))).code).toBe('invalid_issuer')
    expect((await validator.validate(await entraToken(b))).issuer).toBe(issuerOf(b))
  })

  it('keeps at most tenants.max issuers: the least used one is discovered again', async () => {
    server.clearRequests()
    const [a, b] = TENANTS as [string, string]
    const validator = validatorFor({ tenants: { max: 1 }, tokenCache: false })
    await validator.validate(await entraToken(a))
    await validator.validate(await entraToken(b))
    await validator.validate(await entraToken(a))
    expect(server.requestsTo(`/${a}/v2.0/.well-known/openid-configuration`)).toHaveLength(2)
  })

  it('a predicate on iss works the same way', async () => {
    const [a, b] = TENANTS as [string, string]
    const validator = validatorFor({ issuer: (iss) => iss === issuerOf(b) })
    expect((await rejection(validator.validate(await entraToken(a)))).code).toBe('invalid_issuer')
    expect((await validator.validate(await entraToken(b))).issuer).toBe(issuerOf(b))
  })
})

describe('options that need one issuer refuse a template', () => {
  it.each([
    ['jwksUri', { jwksUri: 'https://login.example/keys' }],
    [
      'introspection',
      {
        introspection: {
          auth: { method: 'client_secret_basic', clientId: 'a', clientSecret: 'b' },
        },
      },
    ],
    ['tenants', { issuer: 'https://login.example', tenants: { max: 2 } }],
  ] as const)('%s', (option, extra) => {
    expect(() => validatorFor(extra as Partial<ValidatorOptions>)).toThrow(ConfigurationError)
    expect(() => validatorFor(extra as Partial<ValidatorOptions>)).toThrow(`option "${option}"`)
  })
})
