// The trust and failure model: a client's fault never becomes everyone's outage, and no cached
// or shared verdict is trusted more than a fresh one. The introspection endpoint and the JWKS
// are the fault server on 127.0.0.1 (it produces the answers a real provider cannot); the shared
// store is a real redis-server.
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  ConfigurationError,
  createValidator,
  type CacheStore,
  type IntrospectionOptions,
  type Logger,
  type TokenwardEvent,
  type ValidatorOptions,
} from '@tokenward/core'
import { createRedisStore } from '@tokenward/redis'
import {
  ISSUER,
  claims,
  createKey,
  mint,
  rejection,
  type TestKey,
} from '../../packages/core/test/support/tokens.js'
import {
  startFaultServer,
  type FaultRoute,
  type FaultServer,
} from '../../packages/core/test/support/fault-server.js'
import {
  requireRedis,
  startRedis,
  type TestRedis,
} from '../../packages/redis/test/support/redis.js'

const AUD = 'api'
const GOOD = 'good-opaque-token-0123456789'
const BASIC = { method: 'client_secret_basic', clientId: 'api', clientSecret: 'secret' } as const

let server: FaultServer
let key: TestKey

beforeAll(async () => {
  ;[server, key] = await Promise.all([startFaultServer(), createKey('RS256')])
})
afterAll(async () => {
  await server.close()
})
beforeEach(() => {
  server.clearRequests()
})

const now = (): number => Math.floor(Date.now() / 1000)
const active = (extra: Record<string, unknown> = {}) => ({
  active: true,
  iss: ISSUER,
  aud: AUD,
  sub: 'u',
  exp: now() + 3600,
  ...extra,
})

/** A validator introspecting at the fault server's `/introspect`, with its events and logs. */
function introspecting(
  route: FaultRoute,
  options: Partial<ValidatorOptions> = {},
  introspection: Partial<IntrospectionOptions> = {},
) {
  server.setRoute('/introspect', route)
  const events: TokenwardEvent[] = []
  const logs: { level: string; message: string; meta: unknown }[] = []
  const logger: Logger = {
    warn: (message, meta) => logs.push({ level: 'warn', message, meta }),
    error: (message, meta) => logs.push({ level: 'error', message, meta }),
  }
  const validator = createValidator({
    issuer: ISSUER,
    audience: AUD,
    jwks: { keys: [key.publicJwk] },
    introspection: { endpoint: `${server.url}/introspect`, auth: BASIC, ...introspection },
    logger,
    onEvent: (event) => events.push(event),
    ...options,
  })
  return { validator, events, logs }
}

const introspected = (): number => server.requestsTo('/introspect').length

/** The fault server answers by token: `GOOD` is active, anything else gets `refusal`. */
const byToken =
  (refusal: Exclude<FaultRoute, readonly unknown[] | ((...a: never[]) => unknown)>): FaultRoute =>
  (request) =>
    new URLSearchParams(request.body).get('token') === GOOD
      ? { status: 200, body: active() }
      : refusal

describe('a 4xx from the introspection endpoint is about that token, never an outage', () => {
  it.each([
    [
      '400 unsupported_token_type',
      { status: 400, body: { error: 'unsupported_token_type' } },
      'malformed_token',
    ],
    ['400 invalid_request', { status: 400, body: { error: 'invalid_request' } }, 'malformed_token'],
    [
      '403 from a firewall (HTML)',
      { status: 403, body: '<html>Forbidden</html>' },
      'token_inactive',
    ],
    ['404', { status: 404, body: { error: 'not_found' } }, 'token_inactive'],
  ] as const)(
    '%s: 401 for that request, and the next token is introspected at once',
    async (_, refusal, code) => {
      const { validator, events } = introspecting(byToken(refusal))
      const error = await rejection(validator.validate('refused-token-0123456789'))
      expect([error.code, error.status, error.error]).toEqual([code, 401, 'invalid_token'])
      expect((await validator.validate(GOOD)).subject).toBe('u')
      expect(introspected()).toBe(2)
      expect(events).toContainEqual({
        type: 'token_refused_upstream',
        url: `${server.url}/introspect`,
        status: refusal.status,
      })
    },
  )

  it('an attacker sending refused tokens does not deny service to anyone else', async () => {
    const { validator } = introspecting(
      byToken({ status: 400, body: { error: 'unsupported_token_type' } }),
      {},
      // Every legitimate request is introspected anew: nothing is hidden by the cache.
      { cache: { ttlSeconds: 0 } },
    )
    const legitimate: Promise<number>[] = []
    const attacks: Promise<unknown>[] = []
    // Bounded: 40 rounds, each one attacker request and one legitimate request, interleaved.
    for (let i = 0; i < 40; i++) {
      attacks.push(validator.validate(`attack-${i}-token`).catch((error: unknown) => error))
      legitimate.push(
        validator.validate(GOOD).then(
          () => 200,
          (error: unknown) => (error as { status: number }).status,
        ),
      )
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    expect(await Promise.all(legitimate)).toEqual(Array.from({ length: 40 }, () => 200))
    for (const attack of await Promise.all(attacks)) expect(attack).toMatchObject({ status: 401 })
  })

  it.each([
    // 401 and 400 unauthorized_client: the introspection suite's failure table.
    ['403 with an OAuth error', { status: 403, body: { error: 'access_denied' } }],
  ] as const)(
    '%s refuses this server: 503, one error log naming the fix, back-off',
    async (_, answer) => {
      const { validator, logs } = introspecting(answer)
      const error = await rejection(validator.validate(GOOD))
      expect([error.code, error.status]).toEqual(['upstream_unavailable', 503])
      const errors = logs.filter((log) => log.level === 'error')
      expect(errors).toHaveLength(1)
      expect(errors[0]!.message).toContain('check introspection.auth')
      // Backed off: the next token is answered 503 at once, without a request.
      expect((await rejection(validator.validate('another-token'))).code).toBe(
        'upstream_unavailable',
      )
      expect(introspected()).toBe(1)
    },
  )

  it('backs off per endpoint: an outage of one issuer leaves another one introspected', async () => {
    const { validator, a, b } = twoIssuers(
      () => ({ status: 500, body: 'down' }),
      (issuer) => ({
        status: 200,
        body: active({ iss: issuer }),
      }),
    )
    const token = (iss: string) =>
      mint(key, claims({ iss, aud: AUD, exp: now() + 600, iat: now() }))
    expect((await rejection(validator.validate(await token(a)))).code).toBe('upstream_unavailable')
    expect((await validator.validate(await token(b))).issuer).toBe(b)
    expect(server.requestsTo('/b/introspect')).toHaveLength(1)
  })
})

/**
 * Two issuers on the fault server (`/a`, `/b`), each with its discovery, the same JWKS and its
 * own introspection endpoint; introspection `'always'`, so a JWT goes to its own issuer.
 */
function twoIssuers(
  answerA: (issuer: string) => FaultRoute,
  answerB: (issuer: string) => FaultRoute,
) {
  const a = `${server.url}/a`
  const b = `${server.url}/b`
  for (const [issuer, answer] of [
    [a, answerA],
    [b, answerB],
  ] as const) {
    const path = issuer.slice(server.url.length)
    server.setRoute(`${path}/.well-known/openid-configuration`, {
      status: 200,
      body: {
        issuer,
        jwks_uri: `${server.url}/jwks`,
        introspection_endpoint: `${issuer}/introspect`,
      },
    })
    server.setRoute(`${path}/introspect`, answer(issuer))
  }
  server.setRoute('/jwks', { status: 200, body: { keys: [key.publicJwk] } })
  const validator = createValidator({
    issuer: [a, b],
    audience: AUD,
    introspection: { auth: BASIC, mode: 'always' },
  })
  return { validator, a, b }
}

describe('introspection answers about refresh and ID tokens are invalid_token_type', () => {
  it.each([
    ['token_type', 'refresh_token'],
    ['token_type', 'Refresh_Token'],
    ['token_use', 'refresh_token'],
    ['typ', 'Refresh'],
    ['typ', 'Offline'],
    ['typ', 'ID'],
    ['token_type', 'urn:ietf:params:oauth:token-type:id_token'],
  ])('%s: %s is refused', async (member, value) => {
    const { validator } = introspecting({ status: 200, body: active({ [member]: value }) })
    const error = await rejection(validator.validate(GOOD))
    expect([error.code, error.status]).toEqual(['invalid_token_type', 401])
    expect(error.wwwAuthenticate()).toContain('error="invalid_token"')
  })

  it.each([
    ['token_type', 'access_token'],
    ['token_type', 'Bearer'],
    ['token_use', 'access_token'],
    ['typ', 'Bearer'],
  ])('%s: %s is an access token', async (member, value) => {
    const { validator } = introspecting({ status: 200, body: active({ [member]: value }) })
    expect((await validator.validate(GOOD)).source).toBe('introspection')
  })
})

describe('several issuers: an answer speaks only for the issuer whose endpoint answered', () => {
  it('an answer naming another configured issuer is invalid_issuer, and says what was expected', async () => {
    const { validator, a, b } = twoIssuers(
      () => ({ status: 200, body: active({ iss: `${server.url}/b` }) }),
      () => ({ status: 200, body: active() }),
    )
    const token = await mint(key, claims({ iss: a, aud: AUD, exp: now() + 600, iat: now() }))
    const error = await rejection(validator.validate(token))
    expect([error.code, error.status]).toEqual(['invalid_issuer', 401])
    expect(error.description).toBe(`The token issuer is not trusted: '${b}', expected '${a}'`)
  })
})

describe('a JWS cannot be respelled past the JWT checks', () => {
  it.each([
    ['padding after the signature', (t: string) => `${t}=`],
    [
      'padding after every segment',
      (t: string) =>
        t
          .split('.')
          .map((s) => `${s}=`)
          .join('.'),
    ],
    ['the base64 alphabet', (t: string) => t.replace(/-/g, '+').replace(/_/g, '/')],
  ])(
    '%s: malformed_token locally, never introspected (opaque and always modes)',
    async (_, respell) => {
      const token = await mint(key, claims({ aud: AUD, exp: now() + 600, iat: now() }))
      const respelled = respell(token)
      expect(respelled).not.toBe(token)
      for (const mode of ['opaque', 'always'] as const) {
        const { validator } = introspecting({ status: 200, body: active() }, {}, { mode })
        const error = await rejection(validator.validate(respelled))
        expect([error.code, error.status]).toEqual(['malformed_token', 401])
      }
      expect(introspected()).toBe(0)
    },
  )
})

describe('nothing from upstream reaches logs, events or causes raw', () => {
  it('an error text echoing the token is cut, printable, and without the token', async () => {
    const echo = `${GOOD} \u0007\u001b[31m ${'x'.repeat(300)}`
    const { validator, logs } = introspecting({ status: 500, body: { error: echo } })
    const error = await rejection(validator.validate(GOOD))
    const texts = [
      ...logs.map((log) => `${log.message} ${JSON.stringify(log.meta)}`),
      (error.cause as Error).message,
    ]
    for (const text of texts) {
      expect(text).not.toContain(GOOD)
      expect(text).toMatch(/^[\x20-\x7e]*$/)
    }
    expect((error.cause as Error).message.length).toBeLessThan(300)
  })
})

describe('caches keep to their budgets and keys', () => {
  it('inactive answers cannot evict active ones', async () => {
    const { validator, events } = introspecting(
      byToken({ status: 200, body: { active: false } }),
      // The answer caches alone: with the token cache, GOOD would be found before them.
      { tokenCache: false },
      { cache: { max: 2 } },
    )
    await validator.validate(GOOD)
    for (let i = 0; i < 10; i++) await validator.validate(`junk-${i}`).catch(() => undefined)
    events.length = 0
    await validator.validate(GOOD)
    expect(events).toContainEqual({ type: 'cache_hit', cache: 'introspection' })
  })

  it('a verified token without kid is dropped once its key leaves the key set', async () => {
    const first = await generateKeyPair('RS256')
    const second = await generateKeyPair('RS256')
    const jwks = async (k: CryptoKey) => ({ keys: [{ ...(await exportJWK(k)), alg: 'RS256' }] })
    server.setRoute('/jwks', { status: 200, body: await jwks(first.publicKey) })
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUD,
      jwksUri: `${server.url}/jwks`,
      jwks: { cacheMaxAgeSeconds: 0.05, cooldownSeconds: 0 },
    })
    const token = await new SignJWT({ sub: 'u' })
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(ISSUER)
      .setAudience(AUD)
      .setExpirationTime('10m')
      .sign(first.privateKey)
    expect((await validator.validate(token)).subject).toBe('u')
    server.setRoute('/jwks', { status: 200, body: await jwks(second.publicKey) })
    // The set is refreshed in the background once stale; then the cached verdict no longer holds.
    let code: string | undefined
    for (let i = 0; i < 40 && code === undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25))
      code = await validator.validate(token).then(
        () => undefined,
        (error: unknown) => (error as { code: string }).code,
      )
    }
    expect(code).toBe('invalid_signature')
  })

  it('the verified-token cache has a byte budget', async () => {
    const events: TokenwardEvent[] = []
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUD,
      jwks: { keys: [key.publicJwk] },
      tokenCache: { maxBytes: 1024 * 1024 },
      maxTokenLength: 1_000_000,
      onEvent: (event) => events.push(event),
    })
    const pad = 'x'.repeat(100_000)
    const tokens = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        mint(key, claims({ aud: AUD, exp: now() + 600, iat: now(), pad, n: i })),
      ),
    )
    // About 135 KB each: 1 MiB holds some of them, not all eight.
    for (const token of tokens) await validator.validate(token)
    events.length = 0
    await validator.validate(tokens[0]!)
    expect(events).toContainEqual({ type: 'cache_miss', cache: 'token' })
    await validator.validate(tokens[7]!)
    expect(events).toContainEqual({ type: 'cache_hit', cache: 'token' })
  })
})

describe('the small ones', () => {
  it('with authorizedParties, client_id and azp that disagree are unauthorized_party (lenient too)', async () => {
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUD,
      authorizedParties: ['allowed'],
      jwks: { keys: [key.publicJwk] },
    })
    const token = await mint(
      key,
      claims({ aud: AUD, exp: now() + 600, iat: now(), client_id: 'allowed', azp: 'stranger' }),
    )
    const error = await rejection(validator.validate(token))
    expect([error.code, error.status]).toEqual(['unauthorized_party', 401])
  })

  it('invalid_issuer names the issuer expected as well as the one found', async () => {
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUD,
      jwks: { keys: [key.publicJwk] },
    })
    const token = await mint(
      key,
      claims({ iss: 'https://evil.example', aud: AUD, exp: now() + 600, iat: now() }),
    )
    const error = await rejection(validator.validate(token))
    expect(error.description).toBe(
      `The token issuer is not trusted: 'https://evil.example', expected '${ISSUER}'`,
    )
  })

  it('an Ed448 key is refused when the validator is created', async () => {
    const ed448 = {
      kty: 'OKP',
      crv: 'Ed448',
      x: 'X9dEm1m0Yf0s54fsYWrUah2hNCSFpw4fig6nXYDpZ3jt8SR2m0bHBhvWeD3x5Q9s0foavq_oJWGA',
    }
    expect(() =>
      createValidator({ issuer: ISSUER, audience: AUD, jwks: { keys: [ed448] } }),
    ).toThrow(ConfigurationError)
  })

  it('an Ed448 key in a remote set is skipped with a warning', async () => {
    const ed448 = {
      kty: 'OKP',
      crv: 'Ed448',
      kid: 'ed448',
      x: 'X9dEm1m0Yf0s54fsYWrUah2hNCSFpw4fig6nXYDpZ3jt8SR2m0bHBhvWeD3x5Q9s0foavq_oJWGA',
    }
    server.setRoute('/jwks', { status: 200, body: { keys: [ed448, key.publicJwk] } })
    const warnings: string[] = []
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUD,
      jwksUri: `${server.url}/jwks`,
      logger: { warn: (message) => warnings.push(message), error: () => undefined },
    })
    const token = await mint(key, claims({ aud: AUD, exp: now() + 600, iat: now() }))
    expect((await validator.validate(token)).subject).toBe('user-1')
    expect(warnings).toEqual([
      "tokenward: a key of the issuer's JWKS is an OKP key on curve Ed448; only Ed25519 EdDSA keys can be used; it is skipped",
    ])
  })
})

describe.skipIf(!requireRedis())(
  'shared-store entries are verified by the reader (real redis-server)',
  () => {
    let redis: TestRedis | undefined
    let redisStore: ReturnType<typeof createRedisStore> | undefined
    /** Keys written through the store, in order (the store is shared by every validator here). */
    const written: string[] = []
    let store: CacheStore | undefined

    beforeAll(async () => {
      redis = await startRedis()
      const inner = createRedisStore({ url: redis.url })
      redisStore = inner
      store = {
        get: (k) => inner.get(k),
        set: (k, value, ttl) => (written.push(k), inner.set(k, value, ttl)),
        delete: (k) => inner.delete(k),
      }
    })
    afterAll(async () => {
      await redisStore?.close()
      await redis?.stop()
    })
    afterEach(async () => {
      for (const k of written.splice(0)) await store?.delete(k)
    })

    /** The key of the one entry the last validator wrote, once its write landed. */
    async function writtenKey(): Promise<string> {
      for (let i = 0; i < 50 && written.length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      expect(written).toHaveLength(1)
      return written[0]!
    }

    const shared = (ttlSeconds: number, extra: Record<string, unknown> = {}) =>
      ({ cache: { store: store!, ttlSeconds, ...extra } }) as Partial<IntrospectionOptions>

    it("a reader caps a peer's entry by its own ttlSeconds", async () => {
      const writer = introspecting({ status: 200, body: active() }, {}, shared(3600))
      await writer.validator.validate(GOOD)
      await writtenKey()
      // The token is then revoked at the issuer. A reader with ttlSeconds 1 uses the shared entry
      // while it is younger than 1 s, and never after, whatever the writer's hour says.
      const reader = introspecting({ status: 200, body: { active: false } }, {}, shared(1))
      expect((await reader.validator.validate(GOOD)).subject).toBe('u')
      await new Promise((resolve) => setTimeout(resolve, 1100))
      const later = introspecting({ status: 200, body: { active: false } }, {}, shared(1))
      expect((await rejection(later.validator.validate(GOOD))).code).toBe('token_inactive')
    })

    it.each([
      ['active false', { active: false, claims: {}, at: 0, until: 0 }],
      ['claims a string', { active: true, claims: 'x', at: 1, until: 9e12 }],
      ['no fetch time', { active: true, claims: { sub: 'x' }, until: 9e12 }],
    ])('an entry with %s is ignored and the token introspected directly', async (_, entry) => {
      const { validator } = introspecting({ status: 200, body: active() }, {}, shared(60))
      // Find the key the validators use by letting one write once, then overwrite that entry.
      await validator.validate(GOOD)
      const stored = await writtenKey()
      await store!.set(stored, JSON.stringify(entry), 60)
      const fresh = introspecting({ status: 200, body: active() }, {}, shared(60))
      expect((await fresh.validator.validate(GOOD)).subject).toBe('u')
      expect(fresh.events).toContainEqual({
        type: 'store_entry_rejected',
        reason: 'not an active answer',
      })
      expect(introspected()).toBe(2)
    })

    it('with signingKey, an entry without a valid MAC is ignored; one with it is used', async () => {
      const signingKey = 'k'.repeat(32)
      const writer = introspecting({ status: 200, body: active() }, {}, shared(60, { signingKey }))
      await writer.validator.validate(GOOD)
      const signed = introspecting({ status: 500, body: 'down' }, {}, shared(60, { signingKey }))
      expect((await signed.validator.validate(GOOD)).subject).toBe('u') // from the store
      const stored = await writtenKey()
      await store!.set(
        stored,
        JSON.stringify({
          active: true,
          claims: active({ sub: 'forged' }),
          at: Date.now(),
          until: Date.now() + 60_000,
        }),
        60,
      )
      const reader = introspecting({ status: 200, body: active() }, {}, shared(60, { signingKey }))
      expect((await reader.validator.validate(GOOD)).subject).toBe('u')
      expect(reader.events).toContainEqual({ type: 'store_entry_rejected', reason: 'no valid MAC' })
    })
  },
)
