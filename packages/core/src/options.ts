/* eslint-disable @typescript-eslint/no-unnecessary-condition --
   Options come from JavaScript callers and JSON files too: every check here runs against values
   the types already forbid. */
/**
 * Every option is checked here, once, when the validator is created: a misconfiguration is a
 * `ConfigurationError` naming the option and the fix, never a 401 on the first request.
 */
import { createPublicKey, type JsonWebKey } from 'node:crypto'
import type { JWK } from 'jose'
import type { AudiencePolicy } from './audience.js'
import { normalizeType, type HeaderPolicy, type TimePolicy } from './claims.js'
import { ConfigurationError } from './errors.js'
import { createRoleReader, type RoleReader } from './roles.js'
import type {
  AudienceOptions,
  CacheStore,
  IntrospectionAuth,
  JwsAlgorithm,
  Logger,
  TokenwardEvent,
  ValidatorOptions,
  ZitadelKeyFile,
} from './types.js'

const ASYMMETRIC_ALGORITHMS: readonly JwsAlgorithm[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
]

const DEFAULT_TOKEN_TYPES: readonly (string | null)[] = [
  'JWT',
  'at+jwt',
  'application/at+jwt',
  null,
]

/** Introspection settings after checking. */
export interface IntrospectionConfig {
  readonly endpoint: string | undefined
  readonly auth: IntrospectionAuth
  readonly mode: 'opaque' | 'always'
  readonly timeoutMs: number
  readonly audienceOptional: boolean
  readonly cacheMax: number
  readonly ttlSeconds: number
  readonly negativeTtlSeconds: number
  readonly store: CacheStore | undefined
}

/** The checked, normalised options. */
export interface Config {
  readonly issuers: readonly string[]
  readonly issuerSet: ReadonlySet<string>
  readonly audience: AudiencePolicy
  readonly header: HeaderPolicy
  readonly time: TimePolicy
  readonly maxTokenLength: number
  readonly realm: string
  readonly roles: RoleReader
  readonly zitadelProfile: boolean
  readonly jwksUri: string | undefined
  readonly staticKeys: readonly JWK[] | undefined
  readonly jwks: {
    readonly timeoutMs: number
    readonly cooldownMs: number
    readonly cacheMaxAgeMs: number
    readonly staleIfErrorMs: number
  }
  readonly discoveryTimeoutMs: number
  readonly backoff: { readonly minMs: number; readonly maxMs: number }
  readonly tokenCache: { readonly max: number; readonly ttlSeconds: number } | undefined
  readonly introspection: IntrospectionConfig | undefined
  readonly logger: Logger | undefined
  readonly onEvent: ((event: TokenwardEvent) => void) | undefined
  readonly fetch: typeof fetch
}

function fail(option: string, problem: string): never {
  throw new ConfigurationError(option, problem)
}

function isStringArray(value: unknown): value is readonly string[] {
  return Array.isArray(value)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function stringList(value: unknown, option: string, fix: string): readonly string[] {
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((v) => typeof v === 'string' && v !== '')
  ) {
    fail(option, `must be a non-empty array of non-empty strings; ${fix}`)
  }
  return value as string[]
}

function url(value: unknown, option: string, example: string): string {
  if (typeof value !== 'string') fail(option, `must be a URL string, e.g. "${example}"`)
  let parsed: URL
  try {
    parsed = new URL(value)
  } catch {
    fail(option, `must be an absolute URL, e.g. "${example}"; got "${value}"`)
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname)
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopback)) {
    fail(
      option,
      `must use https (plain http is allowed only for loopback test issuers); got "${value}"`,
    )
  }
  return value
}

function number(
  value: unknown,
  option: string,
  fallback: number,
  range: { min: number; max?: number; integer?: boolean },
): number {
  if (value === undefined) return fallback
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    value >= range.min &&
    (range.max === undefined || value <= range.max) &&
    (range.integer !== true || Number.isInteger(value))
  if (!ok) {
    const bounds =
      range.max === undefined ? `>= ${range.min}` : `between ${range.min} and ${range.max}`
    fail(
      option,
      `must be ${range.integer === true ? 'an integer' : 'a number'} ${bounds}; got ${JSON.stringify(value) ?? typeof value}`,
    )
  }
  return value
}

function checkKeys(
  option: string,
  allowed: readonly string[],
  value: Record<string, unknown>,
): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key))
      fail(`${option}.${key}`, `is not an option; known: ${allowed.join(', ')}`)
  }
}

const TOP_LEVEL = [
  'issuer',
  'audience',
  'authorizedParties',
  'jwksUri',
  'jwks',
  'algorithms',
  'tokenTypes',
  'clockToleranceSeconds',
  'maxTokenAgeSeconds',
  'maxTokenLength',
  'realm',
  'roles',
  'profile',
  'discoveryTimeoutMs',
  'upstreamBackoff',
  'tokenCache',
  'introspection',
  'logger',
  'onEvent',
  'fetch',
]

export function checkOptions(options: ValidatorOptions): Config {
  if (!isObject(options)) fail('options', 'must be an object with at least issuer and audience')
  checkKeys('options', TOP_LEVEL, options)

  const issuers =
    typeof options.issuer === 'string'
      ? [options.issuer]
      : stringList(options.issuer, 'issuer', 'e.g. "https://acme.zitadel.cloud"')
  issuers.forEach((issuer, i) =>
    url(issuer, issuers.length > 1 ? `issuer[${i}]` : 'issuer', 'https://acme.zitadel.cloud'),
  )
  if (new Set(issuers).size !== issuers.length) fail('issuer', 'lists the same issuer twice')

  const single = issuers.length === 1
  if (options.jwksUri !== undefined) {
    if (!single)
      fail(
        'jwksUri',
        'is allowed only with a single issuer; several issuers use their own discovery',
      )
    url(options.jwksUri, 'jwksUri', 'https://acme.zitadel.cloud/oauth/v2/keys')
  }

  const profile = options.profile
  if (profile !== undefined && profile !== 'zitadel')
    fail('profile', `must be 'zitadel' or left out; got ${String(profile)}`)

  const logger = checkLogger(options.logger)
  const audience = checkAudienceOption(options, logger)
  const roles = checkRoles(options, audience.required)

  const algorithms = options.algorithms === undefined ? ASYMMETRIC_ALGORITHMS : options.algorithms
  if (!Array.isArray(algorithms) || algorithms.length === 0) {
    fail('algorithms', `must be a non-empty array of: ${ASYMMETRIC_ALGORITHMS.join(', ')}`)
  }
  for (const alg of algorithms as readonly unknown[]) {
    if (!ASYMMETRIC_ALGORITHMS.includes(alg as JwsAlgorithm)) {
      fail(
        'algorithms',
        `contains "${String(alg)}"; only asymmetric algorithms are allowed: ${ASYMMETRIC_ALGORITHMS.join(', ')}`,
      )
    }
  }

  const tokenTypes = options.tokenTypes ?? DEFAULT_TOKEN_TYPES
  if (
    !Array.isArray(tokenTypes) ||
    tokenTypes.length === 0 ||
    !tokenTypes.every((t) => t === null || (typeof t === 'string' && t !== ''))
  ) {
    fail(
      'tokenTypes',
      'must be a non-empty array of typ values (null accepts a missing typ), e.g. ["at+jwt"]',
    )
  }

  const realm = options.realm ?? 'api'
  if (typeof realm !== 'string' || realm === '' || /[^\x20\x21\x23-\x5b\x5d-\x7e]/.test(realm)) {
    fail('realm', 'must be a non-empty string of printable ASCII without " or \\')
  }

  const jwks = checkJwks(options)
  const backoff = options.upstreamBackoff ?? {}
  if (!isObject(backoff)) fail('upstreamBackoff', 'must be an object { minSeconds, maxSeconds }')
  checkKeys('upstreamBackoff', ['minSeconds', 'maxSeconds'], backoff)
  const minBackoff = number(backoff.minSeconds, 'upstreamBackoff.minSeconds', 1, {
    min: 0.001,
    max: 3600,
  })
  const maxBackoff = number(
    backoff.maxSeconds,
    'upstreamBackoff.maxSeconds',
    Math.max(30, minBackoff),
    { min: minBackoff, max: 86400 },
  )

  const fetchImpl = options.fetch ?? globalThis.fetch
  if (typeof fetchImpl !== 'function') fail('fetch', 'must be a fetch-compatible function')
  if (options.onEvent !== undefined && typeof options.onEvent !== 'function')
    fail('onEvent', 'must be a function (event) => void')

  return {
    issuers,
    issuerSet: new Set(issuers),
    audience,
    header: {
      algorithms: new Set(algorithms),
      tokenTypes: new Set(
        (tokenTypes as readonly (string | null)[]).map((t) => (t === null ? '' : normalizeType(t))),
      ),
    },
    time: {
      clockToleranceSeconds: number(options.clockToleranceSeconds, 'clockToleranceSeconds', 5, {
        min: 0,
        max: 600,
      }),
      maxTokenAgeSeconds:
        options.maxTokenAgeSeconds === undefined
          ? undefined
          : number(options.maxTokenAgeSeconds, 'maxTokenAgeSeconds', 0, { min: 1 }),
    },
    maxTokenLength: number(options.maxTokenLength, 'maxTokenLength', 16384, {
      min: 16,
      max: 1_048_576,
      integer: true,
    }),
    realm,
    roles,
    zitadelProfile: profile === 'zitadel',
    jwksUri: options.jwksUri,
    staticKeys: jwks.keys,
    jwks: jwks.settings,
    discoveryTimeoutMs: number(options.discoveryTimeoutMs, 'discoveryTimeoutMs', 5000, {
      min: 1,
      max: 120_000,
      integer: true,
    }),
    backoff: { minMs: minBackoff * 1000, maxMs: maxBackoff * 1000 },
    tokenCache: checkTokenCache(options.tokenCache),
    introspection: checkIntrospection(options, single),
    logger,
    onEvent: options.onEvent,
    fetch: fetchImpl,
  }
}

function checkAudienceOption(
  options: ValidatorOptions,
  logger: Logger | undefined,
): AudiencePolicy {
  const raw = options.audience
  const option = 'audience'
  if (raw === undefined) {
    fail(
      option,
      'is required: the audience values this API trusts, e.g. { trusted: ["<project id>"], mode: "strict" }',
    )
  }
  const spec: AudienceOptions =
    typeof raw === 'string' || isStringArray(raw) ? { trusted: raw } : raw
  if (!isObject(spec))
    fail(option, 'must be a string, an array of strings or { trusted, mode, required }')
  checkKeys(option, ['trusted', 'mode', 'required'], spec)
  const mode = spec.mode ?? 'lenient'
  if (mode !== 'strict' && mode !== 'lenient')
    fail('audience.mode', `must be 'strict' or 'lenient'; got ${String(mode)}`)
  const required =
    spec.required === undefined
      ? []
      : stringList(
          spec.required,
          'audience.required',
          'list the ids that must be in aud, e.g. your project id',
        )
  const trusted = spec.trusted
  let isTrusted: (aud: string) => boolean
  const requiredSet = new Set(required)
  if (typeof trusted === 'function') {
    // OWN ⊆ TRUSTED (validation-rules §3.1): a required value is trusted whatever the predicate says.
    isTrusted = (aud) => requiredSet.has(aud) || trusted(aud)
  } else {
    if (trusted === '')
      fail(raw === '' ? 'audience' : 'audience.trusted', 'must not be an empty string')
    const list =
      typeof trusted === 'string'
        ? [trusted]
        : stringList(
            trusted,
            typeof raw === 'object' && !Array.isArray(raw) ? 'audience.trusted' : 'audience',
            'list the audience values this API trusts, or pass a predicate (aud) => boolean',
          )
    const set = new Set([...list, ...required])
    isTrusted = (aud) => set.has(aud)
    if (mode === 'lenient' && required.length === 0 && set.size > 1) {
      // validation-rules §3.4: any trusted value passes, so a token for a co-audience only does too.
      logger?.warn(
        "tokenward: lenient audience with several trusted values and no audience.required accepts tokens addressed only to a co-audience; set audience.required to this API's own id",
        { option: 'audience' },
      )
    }
  }
  return {
    mode,
    isTrusted,
    isOwn: required.length > 0 ? (aud) => requiredSet.has(aud) : isTrusted,
    required,
    authorizedParties:
      options.authorizedParties === undefined
        ? undefined
        : new Set(
            stringList(
              options.authorizedParties,
              'authorizedParties',
              'list the client ids allowed to call this API',
            ),
          ),
  }
}

function checkLogger(logger: unknown): Logger | undefined {
  if (logger === undefined) return undefined
  if (
    !isObject(logger) ||
    typeof logger.warn !== 'function' ||
    typeof logger.error !== 'function'
  ) {
    fail('logger', 'must have warn(message, meta) and error(message, meta) methods (console works)')
  }
  return logger as unknown as Logger
}

function checkRoles(options: ValidatorOptions, required: readonly string[]): RoleReader {
  const roles =
    options.roles ?? (options.profile === 'zitadel' && required.length > 0 ? 'zitadel' : undefined)
  if (
    roles === undefined ||
    typeof roles === 'function' ||
    roles === 'keycloak' ||
    roles === 'scope'
  ) {
    return createRoleReader(roles, [])
  }
  if (roles === 'zitadel') {
    if (required.length === 0) {
      fail(
        'roles',
        "'zitadel' reads the role claim of this API's project, so it needs the project id: set audience.required: ['<project id>'] or roles: { preset: 'zitadel', projectId: '<project id>' }",
      )
    }
    return createRoleReader(roles, required)
  }
  if (!isObject(roles))
    fail(
      'roles',
      "must be 'zitadel', 'keycloak', 'scope', { preset, ... }, { claim } or a function",
    )
  if ('claim' in roles) {
    checkKeys('roles', ['claim'], roles)
    const claim = roles.claim
    if (
      !(typeof claim === 'string' && claim !== '') &&
      !(
        Array.isArray(claim) &&
        claim.length > 0 &&
        claim.every((c) => typeof c === 'string' && c !== '')
      )
    ) {
      fail('roles.claim', 'must be a claim name, or a path such as ["realm_access", "roles"]')
    }
    return createRoleReader(roles, [])
  }
  if (roles.preset === 'zitadel') {
    checkKeys('roles', ['preset', 'projectId', 'trustGenericClaim'], roles)
    const projectId = roles.projectId
    if (projectId === undefined) {
      fail(
        'roles.projectId',
        'is required: the ZITADEL project id of this API (its role claim is urn:zitadel:iam:org:project:{projectId}:roles)',
      )
    }
    if (typeof projectId !== 'string' || projectId === '') {
      stringList(projectId, 'roles.projectId', 'give the ZITADEL project id(s) of this API')
    }
    if (roles.trustGenericClaim !== undefined && typeof roles.trustGenericClaim !== 'boolean') {
      fail('roles.trustGenericClaim', 'must be a boolean')
    }
    return createRoleReader(roles, [])
  }
  if (roles.preset === 'keycloak') {
    checkKeys('roles', ['preset', 'clientId'], roles)
    if (roles.clientId !== undefined && typeof roles.clientId !== 'string') {
      stringList(
        roles.clientId,
        'roles.clientId',
        'give the Keycloak client id(s) whose roles to read',
      )
    }
    return createRoleReader(roles, [])
  }
  return fail(
    'roles.preset',
    `must be 'zitadel' or 'keycloak'; got ${String((roles as { preset?: unknown }).preset)}`,
  )
}

function checkJwks(options: ValidatorOptions): {
  keys: readonly JWK[] | undefined
  settings: Config['jwks']
} {
  const jwks = options.jwks ?? {}
  if (!isObject(jwks))
    fail('jwks', 'must be an object: { keys } for a static set, or cache settings')
  checkKeys(
    'jwks',
    ['keys', 'cooldownSeconds', 'cacheMaxAgeSeconds', 'staleIfErrorSeconds', 'timeoutMs'],
    jwks,
  )
  let keys: readonly JWK[] | undefined
  if (jwks.keys !== undefined) {
    if (
      options.issuer !== undefined &&
      typeof options.issuer !== 'string' &&
      options.issuer.length > 1
    ) {
      fail('jwks.keys', 'is allowed only with a single issuer')
    }
    if (options.jwksUri !== undefined) fail('jwks.keys', 'and jwksUri exclude each other: give one')
    if (!Array.isArray(jwks.keys) || jwks.keys.length === 0 || !jwks.keys.every(isObject)) {
      fail('jwks.keys', 'must be a non-empty array of public JWKs')
    }
    jwks.keys.forEach((key, i) => {
      if (typeof key.kty !== 'string') fail(`jwks.keys[${i}]`, 'has no kty: it is not a JWK')
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) {
        if (member in key)
          fail(
            `jwks.keys[${i}]`,
            `is a private or secret key (has "${member}"): give the public key only`,
          )
      }
      try {
        createPublicKey({ key: key as JsonWebKey, format: 'jwk' })
      } catch (error) {
        fail(`jwks.keys[${i}]`, `cannot be imported as a public key (${(error as Error).message})`)
      }
    })
    keys = jwks.keys
  }
  return {
    keys,
    settings: {
      timeoutMs: number(jwks.timeoutMs, 'jwks.timeoutMs', 5000, {
        min: 1,
        max: 120_000,
        integer: true,
      }),
      cooldownMs:
        number(jwks.cooldownSeconds, 'jwks.cooldownSeconds', 30, { min: 0, max: 86400 }) * 1000,
      cacheMaxAgeMs:
        number(jwks.cacheMaxAgeSeconds, 'jwks.cacheMaxAgeSeconds', 600, {
          min: 0.01,
          max: 7 * 86400,
        }) * 1000,
      staleIfErrorMs:
        number(jwks.staleIfErrorSeconds, 'jwks.staleIfErrorSeconds', 3600, {
          min: 0,
          max: 7 * 86400,
        }) * 1000,
    },
  }
}

function checkTokenCache(option: ValidatorOptions['tokenCache']): Config['tokenCache'] {
  if (option === false) return undefined
  const cache = option ?? {}
  if (!isObject(cache)) fail('tokenCache', 'must be false or { max, ttlSeconds }')
  checkKeys('tokenCache', ['max', 'ttlSeconds'], cache)
  return {
    max: number(cache.max, 'tokenCache.max', 10_000, { min: 1, max: 10_000_000, integer: true }),
    ttlSeconds: number(cache.ttlSeconds, 'tokenCache.ttlSeconds', 300, { min: 1, max: 86400 }),
  }
}

function checkIntrospection(
  options: ValidatorOptions,
  single: boolean,
): IntrospectionConfig | undefined {
  const intro = options.introspection
  if (intro === undefined) return undefined
  const option = 'introspection'
  if (!isObject(intro))
    fail(option, 'must be an object { auth, endpoint?, mode?, timeoutMs?, cache? }')
  checkKeys(option, ['endpoint', 'auth', 'mode', 'timeoutMs', 'audienceOptional', 'cache'], intro)
  if (intro.endpoint !== undefined) {
    if (!single)
      fail(
        'introspection.endpoint',
        'is allowed only with a single issuer; several issuers use their own discovery',
      )
    url(intro.endpoint, 'introspection.endpoint', 'https://acme.zitadel.cloud/oauth/v2/introspect')
  }
  const mode = intro.mode ?? 'opaque'
  if (mode !== 'opaque' && mode !== 'always')
    fail('introspection.mode', `must be 'opaque' or 'always'; got ${String(mode)}`)
  if (intro.audienceOptional !== undefined && typeof intro.audienceOptional !== 'boolean') {
    fail('introspection.audienceOptional', 'must be a boolean')
  }
  const cache = intro.cache ?? {}
  if (!isObject(cache))
    fail('introspection.cache', 'must be an object { max, ttlSeconds, negativeTtlSeconds, store }')
  checkKeys('introspection.cache', ['max', 'ttlSeconds', 'negativeTtlSeconds', 'store'], cache)
  const store = cache.store
  if (
    store !== undefined &&
    (!isObject(store) ||
      typeof store.get !== 'function' ||
      typeof store.set !== 'function' ||
      typeof store.delete !== 'function')
  ) {
    fail(
      'introspection.cache.store',
      'must implement get(key), set(key, value, ttlSeconds) and delete(key)',
    )
  }
  const ttlSeconds = number(cache.ttlSeconds, 'introspection.cache.ttlSeconds', 60, {
    min: 0,
    max: 86400,
  })
  return {
    endpoint: intro.endpoint,
    auth: checkIntrospectionAuth(intro.auth),
    mode,
    timeoutMs: number(intro.timeoutMs, 'introspection.timeoutMs', 5000, {
      min: 1,
      max: 120_000,
      integer: true,
    }),
    audienceOptional: intro.audienceOptional === true,
    cacheMax: number(cache.max, 'introspection.cache.max', 10_000, {
      min: 1,
      max: 10_000_000,
      integer: true,
    }),
    ttlSeconds,
    negativeTtlSeconds: number(
      cache.negativeTtlSeconds,
      'introspection.cache.negativeTtlSeconds',
      Math.min(10, ttlSeconds),
      {
        min: 0,
        max: 3600,
      },
    ),
    store,
  }
}

function checkIntrospectionAuth(auth: unknown): IntrospectionAuth {
  const option = 'introspection.auth'
  if (!isObject(auth)) {
    fail(
      option,
      "is required: { method: 'client_secret_basic', clientId, clientSecret } or { method: 'private_key_jwt', keyFile }",
    )
  }
  const method = auth.method
  if (method === 'client_secret_basic' || method === 'client_secret_post') {
    checkKeys(option, ['method', 'clientId', 'clientSecret'], auth)
    if (typeof auth.clientId !== 'string' || auth.clientId === '')
      fail(`${option}.clientId`, 'must be the client id of this API')
    if (typeof auth.clientSecret !== 'string' || auth.clientSecret === '')
      fail(`${option}.clientSecret`, 'must be the client secret of this API')
    return auth as unknown as IntrospectionAuth
  }
  if (method === 'private_key_jwt') {
    checkKeys(option, ['method', 'keyFile'], auth)
    const keyFile = auth.keyFile
    if (typeof keyFile === 'string') {
      if (keyFile === '')
        fail(`${option}.keyFile`, 'must be the path of a ZITADEL key file, or its parsed JSON')
      return auth as unknown as IntrospectionAuth
    }
    checkKeyFile(keyFile, `${option}.keyFile`)
    return auth as unknown as IntrospectionAuth
  }
  return fail(
    `${option}.method`,
    `must be 'client_secret_basic', 'client_secret_post' or 'private_key_jwt'; got ${String(method)}`,
  )
}

/** R-I3: a ZITADEL key file for an application or a service account. */
export function checkKeyFile(keyFile: unknown, option: string): ZitadelKeyFile {
  if (!isObject(keyFile))
    fail(option, 'must be a ZITADEL key file: { type, keyId, key, clientId | userId }')
  if (keyFile.type !== 'application' && keyFile.type !== 'serviceaccount') {
    fail(
      `${option}.type`,
      `must be 'application' or 'serviceaccount'; got ${JSON.stringify(keyFile.type)}`,
    )
  }
  if (typeof keyFile.keyId !== 'string' || keyFile.keyId === '')
    fail(`${option}.keyId`, 'must be the key id from the key file')
  if (typeof keyFile.key !== 'string' || !keyFile.key.includes('PRIVATE KEY-----')) {
    fail(`${option}.key`, 'must be the PEM private key from the key file')
  }
  const clientId = keyFile.type === 'application' ? keyFile.clientId : keyFile.userId
  if (typeof clientId !== 'string' || clientId === '') {
    fail(
      `${option}.${keyFile.type === 'application' ? 'clientId' : 'userId'}`,
      'must be set: it is the assertion issuer and subject',
    )
  }
  return keyFile as unknown as ZitadelKeyFile
}
