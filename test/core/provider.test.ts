// The core against a real OpenID Provider (oidc-provider): discovery, JWKS, JWT access tokens
// with audience arrays, RS256 and ES256, key rotation, outages, opaque tokens and introspection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createValidator, type ValidatorOptions } from '@tokenward/core'
import { rejection } from '../../packages/core/test/support/tokens.js'
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

function zitadelToken(
  extra: { roles?: Record<string, Record<string, string>>; alg?: 'RS256' | 'ES256' } = {},
) {
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

describe('key rotation', () => {
  it('picks up a new kid after the cooldown without a restart', async () => {
    const rotating = await startIssuer()
    try {
      const validator = createValidator({
        issuer: rotating.issuer,
        audience: 'https://api.tokenward.test',
        jwks: { cooldownSeconds: 0.2 },
      })
      const before = await rotating.issueToken()
      await validator.validate(before.token)
      await rotating.rotateKeys()
      const after = await rotating.issueToken()
      await new Promise((resolve) => setTimeout(resolve, 250))
      const auth = await validator.validate(after.token)
      expect(auth.source).toBe('jwt')
      expect(rotating.requests.jwks).toBe(2)
    } finally {
      await rotating.close()
    }
  })

  it('answers unknown_key for a kid the issuer does not publish, within the cooldown', async () => {
    const { token } = await issuer.issueToken({ header: { kid: 'no-such-key' } })
    const error = await rejection(
      validatorFor({ audience: 'https://api.tokenward.test' }).validate(token),
    )
    expect(error.code).toBe('unknown_key')
    expect(error.status).toBe(401)
  })
})

describe('issuer outages are 503, never 401', () => {
  it('answers 503 with Retry-After while the issuer is down at start, then recovers without restart', async () => {
    const flaky = await startIssuer()
    try {
      const { token } = await flaky.issueToken()
      const validator = createValidator({
        issuer: flaky.issuer,
        audience: 'https://api.tokenward.test',
        upstreamBackoff: { minSeconds: 0.1, maxSeconds: 0.1 },
      })
      flaky.setDown(true)
      const error = await rejection(validator.validate(token))
      expect(error.code).toBe('upstream_unavailable')
      expect(error.status).toBe(503)
      expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(1)
      expect(error.wwwAuthenticate()).toBeUndefined()
      // Within the back-off no request reaches the issuer: the answer is immediate.
      const during = flaky.requests.total
      await rejection(validator.validate(token))
      expect(flaky.requests.total).toBe(during)
      flaky.setDown(false)
      await new Promise((resolve) => setTimeout(resolve, 150))
      const auth = await validator.validate(token)
      expect(auth.issuer).toBe(flaky.issuer)
    } finally {
      await flaky.close()
    }
  })

  it('keeps validating known kids from the last good key set while the JWKS is down', async () => {
    const flaky = await startIssuer()
    try {
      const validator = createValidator({
        issuer: flaky.issuer,
        audience: 'https://api.tokenward.test',
        tokenCache: false,
        jwks: { cacheMaxAgeSeconds: 0.1, staleIfErrorSeconds: 60 },
      })
      const first = await flaky.issueToken()
      const second = await flaky.issueToken()
      await validator.validate(first.token)
      await new Promise((resolve) => setTimeout(resolve, 150))
      flaky.setDown(true)
      const auth = await validator.validate(second.token)
      expect(auth.source).toBe('jwt')
    } finally {
      await flaky.close()
    }
  })

  it('rejects a bad token with its 4xx even while the issuer is down', async () => {
    const flaky = await startIssuer()
    try {
      const { token } = await flaky.issueToken({ audience: ['someone-else'] })
      flaky.setDown(true)
      const validator = createValidator({
        issuer: flaky.issuer,
        audience: 'https://api.tokenward.test',
      })
      const error = await rejection(validator.validate(token))
      expect(error.code).toBe('invalid_audience')
      expect(error.status).toBe(401)
      expect(flaky.requests.discovery).toBe(0)
    } finally {
      await flaky.close()
    }
  })

  it('warmUp fetches discovery and keys ahead of traffic, and rejects with 503 when down', async () => {
    const flaky = await startIssuer()
    try {
      const validator = createValidator({
        issuer: flaky.issuer,
        audience: 'https://api.tokenward.test',
      })
      await validator.warmUp()
      expect(flaky.requests.discovery).toBe(1)
      expect(flaky.requests.jwks).toBe(1)
      const { token } = await flaky.issueToken()
      await validator.validate(token)
      expect(flaky.requests.jwks).toBe(1)
      const down = createValidator({ issuer: flaky.issuer, audience: 'https://api.tokenward.test' })
      flaky.setDown(true)
      const error = await rejection(down.warmUp())
      expect(error.code).toBe('upstream_unavailable')
    } finally {
      await flaky.close()
    }
  })
})

describe('inspect reports every check, the same ones validate runs', () => {
  it('lists each failing check of a real token instead of stopping at the first', async () => {
    const { token } = await issuer.issueToken({
      ...zitadelShape({ projectId: PROJECT, clientIds: [APP1, 'stranger@other'], clientId: APP1 }),
      claims: { exp: Math.floor(Date.now() / 1000) - 60 },
    })
    const report = await validatorFor().inspect(token)
    expect(report.valid).toBe(false)
    const failed = report.steps.filter((s) => !s.ok).map((s) => [s.check, s.error?.code])
    expect(failed).toEqual([
      ['lifetime', 'token_expired'],
      ['audience', 'untrusted_audience'],
    ])
    expect(report.steps.find((s) => s.check === 'signature')?.ok).toBe(true)
    expect(report.claims?.aud).toEqual([APP1, 'stranger@other', PROJECT])
  })

  it('reports requirements after a valid token, and agrees with validate', async () => {
    const { token } = await zitadelToken({ roles: { reader: { [ORG]: 'acme.example' } } })
    const validator = validatorFor()
    const report = await validator.inspect(token, { roles: ['admin'] })
    expect(report.steps.map((s) => s.check)).toEqual([
      'format',
      'algorithm',
      'critical',
      'type',
      'lifetime',
      'issuer',
      'kind',
      'audience',
      'signature',
      'requirements',
    ])
    expect(report.steps.at(-1)?.error?.code).toBe('insufficient_role')
    const error = await rejection(validator.validate(token, { roles: ['admin'] }))
    expect(error.code).toBe('insufficient_role')
    expect(error.status).toBe(403)
  })
})
