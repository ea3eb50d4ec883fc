// The verified-token cache: found by the end of the token's signature but matched on the whole
// token, never beyond exp, emptied when the key leaves the JWKS; forged signatures are remembered
// too (by SHA-256), so a flood of them costs a hash each.
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { createValidator, type TokenwardEvent } from '@tokenward/core'
import { rejection } from '../../packages/core/test/support/tokens.js'
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

function validatorWithEvents(
  extra: { clockToleranceSeconds?: number; tokenCache?: { max: number } } = {},
) {
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

describe('a cached token is found whatever brought it, and only the whole token matches', () => {
  it('a token with the same signature over other claims is not the cached one', async () => {
    const { validator, events } = validatorWithEvents()
    const token = await sign({ sub: 'u' })
    await validator.validate(token)
    const [header, , signature] = token.split('.')
    const payload = Buffer.from(JSON.stringify({ sub: 'admin', iss: ISSUER, aud: 'api', exp: 2e9 }))
    const spliced = `${header}.${payload.toString('base64url')}.${signature}`
    for (const attempt of [
      validator.validate(spliced),
      validator.authenticate(`Bearer ${spliced}`),
    ]) {
      const error = await rejection(attempt)
      expect(error.code).toBe('invalid_signature')
      expect(error.status).toBe(401)
    }
    expect(events).toEqual(['cache_miss', 'cache_miss', 'cache_hit'])
    // The forgery shares the genuine token's cache key; the genuine token is still found.
    expect((await validator.validate(token)).subject).toBe('u')
    expect(events.at(-1)).toBe('cache_hit')
  })

  it('finds a token whatever spelling of the header or entry point brought it', async () => {
    const { validator, events } = validatorWithEvents()
    const token = await sign({ sub: 'u' })
    const first = await validator.authenticate(`Bearer ${token}`)
    for (const header of [`bearer ${token}`, `Bearer   ${token}`, ` BEARER ${token} `]) {
      expect(await validator.authenticate([header])).toBe(first)
    }
    expect(await validator.validate(token)).toBe(first)
    expect(events).toEqual(['cache_miss', 'cache_hit', 'cache_hit', 'cache_hit', 'cache_hit'])
  })

  it('a token first seen through validate() is a hit for its header', async () => {
    const { validator, events } = validatorWithEvents()
    const token = await sign({ sub: 'u' })
    const first = await validator.validate(token)
    expect(await validator.authenticate(`Bearer ${token}`)).toBe(first)
    expect(events).toEqual(['cache_miss', 'cache_hit'])
  })

  it('invalidate forgets the token for every header spelling', async () => {
    const { validator, events } = validatorWithEvents()
    const token = await sign({ sub: 'u' })
    await validator.authenticate(`bearer  ${token}`)
    await validator.invalidate(token)
    await validator.authenticate(`Bearer ${token}`)
    expect(events).toEqual(['cache_miss', 'cache_miss'])
  })

  it('a cached token still gets every header rule: two Authorization values are invalid_request', async () => {
    const { validator } = validatorWithEvents()
    const token = await sign({ sub: 'u' })
    await validator.authenticate(`Bearer ${token}`)
    const error = await rejection(validator.authenticate([`Bearer ${token}`, `Bearer ${token}`]))
    expect(error.code).toBe('invalid_request')
    expect(error.status).toBe(400)
  })
})

describe('authenticateNow answers without a promise when nothing is fetched', () => {
  it('returns the result itself for a token verified with a known key, and for a cached one', async () => {
    const { validator } = validatorWithEvents()
    // The first token of a key waits for jose to import it; from then on the key is known.
    await validator.authenticateNow(`Bearer ${await sign({ sub: 'first' })}`)
    const token = await sign({ sub: 'u' })
    const first = validator.authenticateNow(`Bearer ${token}`)
    expect(first).not.toBeInstanceOf(Promise)
    expect(first).toMatchObject({ subject: 'u' })
    expect(validator.authenticateNow(`Bearer ${token}`)).toBe(first)
  })

  it('throws the TokenwardError itself, synchronously', () => {
    const { validator } = validatorWithEvents()
    let thrown: unknown
    try {
      validator.authenticateNow(undefined)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toMatchObject({ code: 'missing_token', status: 401 })
  })

  it('returns a promise when the keys must be fetched first', async () => {
    const issuer = await startIssuer()
    try {
      const validator = createValidator({
        issuer: issuer.issuer,
        audience: 'https://api.tokenward.test',
      })
      const { token } = await issuer.issueToken()
      const pending = validator.authenticateNow(`Bearer ${token}`)
      expect(pending).toBeInstanceOf(Promise)
      expect((await pending).issuer).toBe(issuer.issuer)
      expect(validator.authenticateNow(`Bearer ${token}`)).not.toBeInstanceOf(Promise)
    } finally {
      await issuer.close()
    }
  })
})

describe('forged signatures are remembered', () => {
  it('decide() returns what it knows at once (a remembered forgery, no token); authenticateNow throws it', async () => {
    const { validator, events } = validatorWithEvents()
    const token = await sign({ sub: 'u' })
    const forged = `Bearer ${token.slice(0, token.lastIndexOf('.') + 1)}${'A'.repeat(86)}`
    await rejection(validator.authenticate(forged))
    for (const [authorization, code] of [
      [forged, 'invalid_signature'],
      [undefined, 'missing_token'],
    ] as const) {
      // A value, not a throw: the adapter kit renders it without unwinding the stack.
      const answer = validator.decide!(authorization)
      expect(answer).toMatchObject({ code, status: 401, realm: 'api' })
      expect(() => validator.authenticateNow(authorization)).toThrow(
        expect.objectContaining({ code }) as Error,
      )
    }
    expect(events).toEqual(['cache_miss', 'cache_hit', 'cache_hit'])
  })

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

  it('a flood of forged tokens does not evict a verified one', async () => {
    const { validator, events } = validatorWithEvents({ tokenCache: { max: 2 } })
    const token = await sign({ sub: 'u' })
    await validator.validate(token)
    for (let i = 0; i < 5; i++) {
      // Ends in 'A': a canonical base64url spelling (else it is malformed_token before any key).
      const forged = `${token.slice(0, token.lastIndexOf('.') + 1)}${String(i).repeat(85)}A`
      expect((await rejection(validator.validate(forged))).code).toBe('invalid_signature')
    }
    events.length = 0
    await validator.validate(token)
    expect(events).toEqual(['cache_hit'])
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

describe('introspection results are answered from the same cache', () => {
  it('an opaque token: its second use is a token-cache hit, until its answer leaves the answer cache', async () => {
    const issuer = await startIssuer()
    let now = Date.now()
    const events: string[] = []
    const validator = createValidator({
      issuer: issuer.issuer,
      audience: issuer.resource,
      introspection: {
        auth: { method: 'client_secret_basic', ...issuer.introspectionClients.basic },
        cache: { ttlSeconds: 30 },
      },
      clock: () => now,
      onEvent: (event: TokenwardEvent) => {
        if (event.type === 'cache_hit' || event.type === 'cache_miss')
          events.push(`${event.type}:${event.cache}`)
      },
    })
    try {
      const { token } = await issuer.issueToken({ format: 'opaque' })
      issuer.resetRequests()
      const first = await validator.validate(token)
      expect(first.source).toBe('introspection')
      // The same result, found by the token itself: no hashing, no introspection cache lookup.
      expect(validator.authenticateNow(`Bearer ${token}`)).toBe(first)
      expect(events).toEqual(['cache_miss:token', 'cache_miss:introspection', 'cache_hit:token'])
      expect(issuer.requests.introspection).toBe(1)
      // Past the answer's 30 s in the answer cache, the issuer is asked again (revocation shows).
      now += 31_000
      events.length = 0
      expect((await validator.validate(token)).source).toBe('introspection')
      expect(events).toEqual(['cache_miss:token', 'cache_miss:introspection'])
      expect(issuer.requests.introspection).toBe(2)
      // invalidate(token) forgets it in both caches.
      await validator.invalidate(token)
      await validator.validate(token)
      expect(issuer.requests.introspection).toBe(3)
    } finally {
      await validator.close()
      await issuer.close()
    }
  })
})
