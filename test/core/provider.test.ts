// The core against a real OpenID Provider (oidc-provider): discovery, JWKS, JWT access tokens
// with audience arrays, RS256 and ES256, key rotation, outages, opaque tokens and introspection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createValidator, type TokenwardError, type ValidatorOptions } from '@tokenward/core'
import { startIssuer, zitadelShape, type TestIssuer } from '../support/issuer.js'

const PROJECT = '170086774599581953'
const APP1 = '170086824411201793@portal'
const APP2 = '209806276543185153@portal'
const ORG = '170086363054473473'

let issuer: TestIssuer

beforeAll(async () => {
  issuer = await startIssuer({ algorithms: ['RS256', 'ES256'] })
})
afterAll(async () => {
  await issuer.close()
})

function validatorFor(options: Partial<ValidatorOptions> = {}) {
  return createValidator({
    issuer: issuer.issuer,
    audience: { trusted: [PROJECT, APP1, APP2], mode: 'strict', required: [PROJECT] },
    roles: { preset: 'zitadel', projectId: PROJECT },
    upstreamBackoff: { minSeconds: 0.05, maxSeconds: 0.05 },
    ...options,
  })
}

async function rejection(promise: Promise<unknown>): Promise<TokenwardError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (error: unknown) => error as TokenwardError,
  )
}

function zitadelToken(extra: { roles?: Record<string, Record<string, string>>; alg?: 'RS256' | 'ES256' } = {}) {
  return issuer.issueToken({
    ...zitadelShape({
      projectId: PROJECT,
      clientIds: [APP1, APP2],
      clientId: APP1,
      roles: extra.roles ?? { admin: { [ORG]: 'acme.example' } },
    }),
    ...(extra.alg === undefined ? {} : { alg: extra.alg }),
  })
}

describe('discovery and keys come from the issuer', () => {
  it('accepts a ZITADEL-shaped RS256 access token from the real token endpoint', async () => {
    const { token } = await zitadelToken()
    const auth = await validatorFor().validate(token)
    expect(auth.source).toBe('jwt')
    expect(auth.issuer).toBe(issuer.issuer)
    expect(auth.audience).toEqual([APP1, APP2, PROJECT])
    expect(auth.roles).toEqual({ admin: [ORG] })
    expect(auth.subject).toBe(auth.claims.sub)
    expect(auth.clientId).toBe(APP1)
    expect(auth.expiresAt).toBeInstanceOf(Date)
  })

  it('accepts an ES256 access token', async () => {
    const { token } = await zitadelToken({ alg: 'ES256' })
    const auth = await validatorFor().validate(token)
    expect(auth.audience).toContain(PROJECT)
  })

  it('fetches discovery and the JWKS once for many tokens', async () => {
    issuer.resetRequests()
    const validator = validatorFor({ tokenCache: false })
    const tokens = await Promise.all([zitadelToken(), zitadelToken(), zitadelToken()])
    await Promise.all(tokens.map(({ token }) => validator.validate(token)))
    expect(issuer.requests.discovery).toBe(1)
    expect(issuer.requests.jwks).toBe(1)
  })
})

describe('strict audience against real tokens', () => {
  it('rejects a sibling app id that is not trusted, naming it', async () => {
    const { token } = await zitadelToken()
    const error = await rejection(
      validatorFor({ audience: { trusted: [PROJECT, APP1], mode: 'strict' } }).validate(token),
    )
    expect(error.code).toBe('untrusted_audience')
    expect(error.status).toBe(401)
    expect(error.description).toContain(APP2)
  })
})
