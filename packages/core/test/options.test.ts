// The contract: `createValidator` throws a ConfigurationError (code `invalid_config`, message naming the
// option path) for every bad option, synchronously; the library never reads process.env.
import { generateKeyPairSync } from 'node:crypto'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  ConfigurationError,
  TokenwardError,
  createValidator,
  type ValidatorOptions,
} from '@tokenward/core'
import {
  AUDIENCE,
  ISSUER,
  claims,
  createKey,
  freezeTime,
  mint,
  type TestKey,
} from './support/tokens.js'

let key: TestKey
let privateJwk: unknown
let p256Pem: string

beforeAll(async () => {
  key = await createKey()
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  privateJwk = privateKey.export({ format: 'jwk' })
  p256Pem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ format: 'pem', type: 'pkcs8' })
    .toString()
})
afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllEnvs()
})

/** The error `createValidator(options)` throws synchronously. */
function configError(options: unknown): ConfigurationError {
  let result: unknown
  try {
    result = createValidator(options as ValidatorOptions)
  } catch (error) {
    return error as ConfigurationError
  }
  throw new Error(`createValidator accepted the options (returned ${typeof result})`)
}

const keyFile = (overrides: Record<string, unknown>) => ({
  type: 'application',
  keyId: '81693565968962154',
  key: p256Pem,
  clientId: '78366401571920522@acme',
  ...overrides,
})

const introspection = (auth: unknown) => ({ auth })
const basicAuth = { method: 'client_secret_basic', clientId: 'api', clientSecret: 'secret' }

/** [what is wrong, the options besides a valid base, the option path named]. */
const BAD_OPTIONS: readonly [string, () => Record<string, unknown>, string][] = [
  ['an unknown option key', () => ({ audiance: AUDIENCE }), 'options.audiance'],
  ['missing issuer', () => ({ issuer: undefined }), 'issuer'],
  ['an empty issuer list', () => ({ issuer: [] }), 'issuer'],
  ['an issuer that is not a URL', () => ({ issuer: 'issuer.example.com' }), 'issuer'],
  [
    'an http issuer that is not loopback',
    () => ({ issuer: 'http://issuer.example.com' }),
    'issuer',
  ],
  [
    'an http issuer in a list',
    () => ({ issuer: [ISSUER, 'http://issuer2.example.com'] }),
    'issuer[1]',
  ],
  ['the same issuer twice', () => ({ issuer: [ISSUER, ISSUER] }), 'issuer'],
  ['missing audience', () => ({ audience: undefined }), 'audience'],
  ['an empty audience list', () => ({ audience: [] }), 'audience'],
  ['an empty trusted list', () => ({ audience: { trusted: [] } }), 'audience.trusted'],
  ['an empty string in audience', () => ({ audience: [AUDIENCE, ''] }), 'audience'],
  [
    'a bad audience mode',
    () => ({ audience: { trusted: [AUDIENCE], mode: 'STRICT' } }),
    'audience.mode',
  ],
  [
    'an empty required list',
    () => ({ audience: { trusted: [AUDIENCE], required: [] } }),
    'audience.required',
  ],
  [
    'an unknown audience key',
    () => ({ audience: { trusted: [AUDIENCE], own: ['x'] } }),
    'audience.own',
  ],
  ['an empty authorizedParties list', () => ({ authorizedParties: [] }), 'authorizedParties'],
  ["roles: 'zitadel' without a project id", () => ({ roles: 'zitadel' }), 'roles'],
  [
    "roles: { preset: 'zitadel' } without projectId",
    () => ({ roles: { preset: 'zitadel' } }),
    'roles.projectId',
  ],
  [
    "roles: { preset: 'zitadel' } with an empty projectId",
    () => ({ roles: { preset: 'zitadel', projectId: '' } }),
    'roles.projectId',
  ],
  [
    'a non-boolean trustGenericClaim',
    () => ({ roles: { preset: 'zitadel', projectId: '1', trustGenericClaim: 'yes' } }),
    'roles.trustGenericClaim',
  ],
  ['an unknown roles preset', () => ({ roles: { preset: 'auth0' } }), 'roles.preset'],
  ['an unknown roles string', () => ({ roles: 'okta' }), 'roles'],
  ['an empty roles claim', () => ({ roles: { claim: '' } }), 'roles.claim'],
  ['HS256 in algorithms', () => ({ algorithms: ['RS256', 'HS256'] }), 'algorithms'],
  ['none in algorithms', () => ({ algorithms: ['none'] }), 'algorithms'],
  ['empty algorithms', () => ({ algorithms: [] }), 'algorithms'],
  ['empty tokenTypes', () => ({ tokenTypes: [] }), 'tokenTypes'],
  [
    'a private key in jwks.keys',
    () => ({ jwks: { keys: [key.publicJwk, privateJwk] } }),
    'jwks.keys[1]',
  ],
  [
    'a symmetric key in jwks.keys',
    () => ({ jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 's' }] } }),
    'jwks.keys[0]',
  ],
  ['a jwks.keys entry without kty', () => ({ jwks: { keys: [{ kid: 'x' }] } }), 'jwks.keys[0]'],
  [
    'a public JWK that cannot be imported (no modulus)',
    () => ({ jwks: { keys: [{ kty: 'RSA', kid: 'key-1', e: 'AQAB' }] } }),
    'jwks.keys[0]',
  ],
  [
    'a public JWK whose point is not on its curve',
    () => ({ jwks: { keys: [key.publicJwk, { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' }] } }),
    'jwks.keys[1]',
  ],
  ['an empty jwks.keys', () => ({ jwks: { keys: [] } }), 'jwks.keys'],
  [
    'jwks.keys with several issuers',
    () => ({ issuer: [ISSUER, 'https://issuer2.example.com'], jwks: { keys: [key.publicJwk] } }),
    'jwks.keys',
  ],
  [
    'jwks.keys and jwksUri together',
    () => ({ jwksUri: `${ISSUER}/keys`, jwks: { keys: [key.publicJwk] } }),
    'jwks.keys',
  ],
  [
    'jwksUri with several issuers',
    () => ({
      issuer: [ISSUER, 'https://issuer2.example.com'],
      jwksUri: `${ISSUER}/keys`,
      jwks: undefined,
    }),
    'jwksUri',
  ],
  [
    'an http jwksUri that is not loopback',
    () => ({ jwksUri: 'http://issuer.example.com/keys', jwks: undefined }),
    'jwksUri',
  ],
  ['an unknown jwks key', () => ({ jwks: { keys: [key.publicJwk], maxAge: 1 } }), 'jwks.maxAge'],
  [
    'a negative jwks.cooldownSeconds',
    () => ({ jwks: { cooldownSeconds: -1 } }),
    'jwks.cooldownSeconds',
  ],
  [
    'a negative clockToleranceSeconds',
    () => ({ clockToleranceSeconds: -1 }),
    'clockToleranceSeconds',
  ],
  [
    'a NaN clockToleranceSeconds',
    () => ({ clockToleranceSeconds: Number.NaN }),
    'clockToleranceSeconds',
  ],
  [
    'clockToleranceSeconds as a string',
    () => ({ clockToleranceSeconds: '5' }),
    'clockToleranceSeconds',
  ],
  ['maxTokenAgeSeconds 0', () => ({ maxTokenAgeSeconds: 0 }), 'maxTokenAgeSeconds'],
  ['a fractional maxTokenLength', () => ({ maxTokenLength: 1000.5 }), 'maxTokenLength'],
  ['an empty realm', () => ({ realm: '' }), 'realm'],
  ['a realm with a quote', () => ({ realm: 'a"b' }), 'realm'],
  ['an unknown profile', () => ({ profile: 'okta' }), 'profile'],
  ['a logger without error()', () => ({ logger: { warn: () => undefined } }), 'logger'],
  ['fetch that is not a function', () => ({ fetch: 'fetch' }), 'fetch'],
  ['onEvent that is not a function', () => ({ onEvent: {} }), 'onEvent'],
  ['tokenCache that is not an object', () => ({ tokenCache: true }), 'tokenCache'],
  [
    'upstreamBackoff max below min',
    () => ({ upstreamBackoff: { minSeconds: 10, maxSeconds: 1 } }),
    'upstreamBackoff.maxSeconds',
  ],
  ['introspection without auth', () => ({ introspection: {} }), 'introspection.auth'],
  [
    'a bad introspection auth method',
    () => ({
      introspection: introspection({
        method: 'client_secret_jwt',
        clientId: 'a',
        clientSecret: 'b',
      }),
    }),
    'introspection.auth.method',
  ],
  [
    'client_secret_basic without a secret',
    () => ({ introspection: introspection({ method: 'client_secret_basic', clientId: 'a' }) }),
    'introspection.auth.clientSecret',
  ],
  [
    'a bad introspection mode',
    () => ({ introspection: { auth: basicAuth, mode: 'jwt' } }),
    'introspection.mode',
  ],
  [
    'an introspection endpoint with several issuers',
    () => ({
      issuer: [ISSUER, 'https://issuer2.example.com'],
      jwks: undefined,
      introspection: { auth: basicAuth, endpoint: `${ISSUER}/introspect` },
    }),
    'introspection.endpoint',
  ],
  [
    'a key file with a wrong type',
    () => ({
      introspection: introspection({
        method: 'private_key_jwt',
        keyFile: keyFile({ type: 'user' }),
      }),
    }),
    'introspection.auth.keyFile.type',
  ],
  [
    'a key file without a private key',
    () => ({
      introspection: introspection({
        method: 'private_key_jwt',
        keyFile: keyFile({ key: 'not a key' }),
      }),
    }),
    'introspection.auth.keyFile.key',
  ],
  [
    'a key file whose PEM does not parse',
    () => ({
      introspection: introspection({
        method: 'private_key_jwt',
        keyFile: keyFile({ key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----' }),
      }),
    }),
    'introspection.auth.keyFile.key',
  ],
  [
    'a key file on a P-384 key',
    () => ({
      introspection: introspection({
        method: 'private_key_jwt',
        keyFile: keyFile({
          key: generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({
            format: 'pem',
            type: 'pkcs8',
          }),
        }),
      }),
    }),
    'introspection.auth.keyFile.key',
  ],
  [
    'a key file path that does not exist',
    () => ({
      introspection: introspection({ method: 'private_key_jwt', keyFile: '/nonexistent/key.json' }),
    }),
    'introspection.auth.keyFile',
  ],
  [
    'an application key file without clientId',
    () => ({
      introspection: introspection({
        method: 'private_key_jwt',
        keyFile: keyFile({ clientId: undefined }),
      }),
    }),
    'introspection.auth.keyFile.clientId',
  ],
]

describe('createValidator rejects every bad option synchronously with a ConfigurationError', () => {
  it.each(BAD_OPTIONS.map(([what, bad, option]) => [what, option, bad] as const))(
    '%s → option "%s"',
    (_, option, bad) => {
      const base = { issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [key.publicJwk] } }
      const error = configError({ ...base, ...bad() })
      expect(error).toBeInstanceOf(ConfigurationError)
      expect(error).toBeInstanceOf(TokenwardError)
      expect({ code: error.code, status: error.status, option: error.option }).toEqual({
        code: 'invalid_config',
        status: 500,
        option: expect.any(String),
      })
      expect(error.option).toBe(option)
      expect(error.message).toContain(`"${option}"`)
    },
  )

  it.each([
    ['a string', ISSUER],
    ['undefined', undefined],
    ['a list', [ISSUER]],
  ])('options that are %s → option "options"', (_, options) => {
    const error = configError(options)
    expect(error).toBeInstanceOf(ConfigurationError)
    expect(error.option).toBe('options')
    expect(error.message).toContain('"options"')
  })

  it('the base options of the table are valid (control)', async () => {
    freezeTime()
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [key.publicJwk] },
    })
    expect((await validator.validate(await mint(key, claims()))).issuer).toBe(ISSUER)
  })

  it.each([
    ['audience: ""', { audience: '' }, 'audience'],
    ['audience.trusted: ""', { audience: { trusted: '' } }, 'audience.trusted'],
  ])('%s is rejected like an empty list entry', (_, overrides, option) => {
    const error = configError({ issuer: ISSUER, jwks: { keys: [key.publicJwk] }, ...overrides })
    expect(error.option).toBe(option)
  })
})

describe('the library never reads process.env', () => {
  it('ISSUER_BASE_URL / AUDIENCE in the environment do not stand in for missing options', () => {
    vi.stubEnv('ISSUER_BASE_URL', ISSUER)
    vi.stubEnv('ISSUER', ISSUER)
    vi.stubEnv('AUDIENCE', AUDIENCE)
    vi.stubEnv('TOKENWARD_ISSUER', ISSUER)
    expect(configError({ audience: AUDIENCE }).option).toBe('issuer')
    expect(configError({ issuer: ISSUER }).option).toBe('audience')
  })

  it('creating a validator and validating a token read no environment variable', async () => {
    freezeTime()
    const token = await mint(key, claims())
    const reads: PropertyKey[] = []
    const env = process.env
    process.env = new Proxy(env, {
      get(target, property, receiver) {
        reads.push(property)
        return Reflect.get(target, property, receiver)
      },
      has(target, property) {
        reads.push(property)
        return Reflect.has(target, property)
      },
    })
    try {
      const validator = createValidator({
        issuer: ISSUER,
        audience: AUDIENCE,
        jwks: { keys: [key.publicJwk] },
        roles: 'scope',
      })
      await validator.validate(token)
      await validator.validate(token)
    } finally {
      process.env = env
    }
    expect(reads).toEqual([])
  })
})
