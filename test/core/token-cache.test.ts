// The verified-token cache: by SHA-256 of the token, never beyond exp, emptied when the key
// leaves the JWKS; forged signatures are remembered too, so a flood of them costs a hash each.
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { createValidator, type TokenwardError, type TokenwardEvent } from '@tokenward/core'
import { startIssuer } from '../support/issuer.js'

const ISSUER = 'https://issuer.example'
let jwk: JWK
let sign: (claims: Record<string, unknown>, expiresIn?: string) => Promise<string>

beforeAll(async () => {
  const { privateKey, publicKey } = await generateKeyPair('ES256')
  jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }
  sign = (claims, expiresIn = '5m') =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience('api')
      .setExpirationTime(expiresIn)
      .sign(privateKey)
})

async function rejection(promise: Promise<unknown>): Promise<TokenwardError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (error: unknown) => error as TokenwardError,
  )
}

function validatorWithEvents(extra: { clockToleranceSeconds?: number } = {}) {
  const events: string[] = []
  const validator = createValidator({
    issuer: ISSUER,
    audience: 'api',
    jwks: { keys: [jwk] },
    onEvent: (event: TokenwardEvent) => {
      if (event.type === 'cache_hit' || event.type === 'cache_miss') events.push(event.type)
    },
    ...extra,
  })
  return { validator, events }
}

describe('verified tokens are answered from the cache', () => {
  it('returns the same result for a token seen before, without verifying it again', async () => {
    const { validator, events } = validatorWithEvents()
    const token = await sign({ sub: 'u' })
    const first = await validator.validate(token)
    const second = await validator.validate(token)
    expect(second).toBe(first)
    expect(events).toEqual(['cache_miss', 'cache_hit'])
  })

  it('checks requirements on every call, also for a cached token', async () => {
    const { validator } = validatorWithEvents()
    const token = await sign({ sub: 'u', scope: 'read' })
    await validator.validate(token, { scopes: ['read'] })
    const error = await rejection(validator.validate(token, { scopes: ['write'] }))
    expect(error.code).toBe('insufficient_scope')
    expect(error.status).toBe(403)
  })

  it('never answers from the cache after exp', async () => {
    const { validator } = validatorWithEvents({ clockToleranceSeconds: 0 })
    const token = await sign({ sub: 'u' }, '1s')
    await validator.validate(token)
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const error = await rejection(validator.validate(token))
    expect(error.code).toBe('token_expired')
    expect(error.status).toBe(401)
  })

  it('forgets a token on invalidate', async () => {
    const { validator, events } = validatorWithEvents()
    const token = await sign({ sub: 'u' })
    await validator.validate(token)
    await validator.invalidate(token)
    await validator.validate(token)
    expect(events).toEqual(['cache_miss', 'cache_miss'])
  })
})

describe('forged signatures are remembered', () => {
  it('answers a repeated forged token from the cache with the same invalid_signature', async () => {
    const { validator, events } = validatorWithEvents()
    const token = await sign({ sub: 'u' })
    const forged = `${token.slice(0, token.lastIndexOf('.') + 1)}${'A'.repeat(86)}`
    for (let i = 0; i < 2; i++) {
      const error = await rejection(validator.validate(forged))
      expect(error.code).toBe('invalid_signature')
      expect(error.status).toBe(401)
    }
    expect(events).toEqual(['cache_miss', 'cache_hit'])
  })
})

describe('a cached token whose key leaves the JWKS is verified again', () => {
  it('rejects the cached token once the issuer no longer publishes its kid', async () => {
    const issuer = await startIssuer()
    try {
      const validator = createValidator({
        issuer: issuer.issuer,
        audience: 'https://api.tokenward.test',
        jwks: { cacheMaxAgeSeconds: 0.1, cooldownSeconds: 0 },
      })
      const { token } = await issuer.issueToken()
      await validator.validate(token)
      await issuer.rotateKeys()
      await new Promise((resolve) => setTimeout(resolve, 150))
      // The first hit after max age refreshes the set in the background and still answers.
      await validator.validate(token).catch(() => undefined)
      await new Promise((resolve) => setTimeout(resolve, 100))
      const error = await rejection(validator.validate(token))
      expect(error.code).toBe('unknown_key')
      expect(error.status).toBe(401)
    } finally {
      await issuer.close()
    }
  })
})
