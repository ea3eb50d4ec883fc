/* eslint-disable @typescript-eslint/no-unnecessary-condition --
   Options come from JavaScript callers and JSON files too: every check here runs against values
   the types already forbid. */
/**
 * The top-level options, checked once when the validator is created: a misconfiguration is a
 * `ConfigurationError` naming the option and the fix, never a 401 on the first request. Each
 * policy parses its own option: the audience in `audience.ts`, roles in `roles.ts`,
 * introspection in `introspection.ts` (and its client authentication in `client-auth.ts`).
 */
import { runtime } from './runtime/index.js'
import type { Runtime } from './runtime/contract.js'
import type { JWK } from 'jose'
import { audiencePolicy, type AudiencePolicy } from './audience.js'
import { headerPolicy, timePolicy, type HeaderPolicy, type TimePolicy } from './claims.js'
import { introspectionOption, type IntrospectionConfig } from './introspection-options.js'
import {
  fail,
  httpsUrl,
  isObject,
  numberInRange,
  optionNames,
  refuseUnknownOptions,
} from './option-values.js'
import { issuerPolicy, type IssuerPolicy } from './issuer-policy.js'
import { debugEnabled, loggerOption, withDebugLines } from './logger.js'
import { unusableKey } from './key-identity.js'
import {
  dpopOption,
  httpOption,
  resourceOption,
  type DpopConfig,
  type HttpConfig,
  type ResourceConfig,
} from './request-options.js'
import { roleReader, type RoleReader } from './roles.js'
import type { TokenCacheSettings } from './verdicts.js'
import type { JwksOptions, Logger, TokenwardEvent, ValidatorOptions } from './types.js'

const TOP_LEVEL_OPTIONS = optionNames<ValidatorOptions>({
  issuer: true,
  audience: true,
  authorizedParties: true,
  jwksUri: true,
  jwks: true,
  algorithms: true,
  tokenTypes: true,
  clockToleranceSeconds: true,
  maxTokenAgeSeconds: true,
  maxTokenLength: true,
  realm: true,
  roles: true,
  profile: true,
  discoveryTimeoutMs: true,
  upstreamBackoff: true,
  tokenCache: true,
  introspection: true,
  tenants: true,
  dpop: true,
  resource: true,
  http: true,
  logger: true,
  debug: true,
  onEvent: true,
  fetch: true,
  clock: true,
})
const JWKS_OPTIONS = optionNames<JwksOptions>({
  keys: true,
  cooldownSeconds: true,
  cacheMaxAgeSeconds: true,
  staleIfErrorSeconds: true,
  timeoutMs: true,
})
const TOKEN_CACHE_OPTIONS = optionNames<Exclude<ValidatorOptions['tokenCache'], false | undefined>>(
  { max: true, ttlSeconds: true, maxBytes: true },
)
const BACKOFF_OPTIONS = optionNames<NonNullable<ValidatorOptions['upstreamBackoff']>>({
  minSeconds: true,
  maxSeconds: true,
})

export type { IntrospectionConfig } from './introspection-options.js'

/** The checked, normalised options. */
export interface Config {
  /** The issuers named in full (the first introspects opaque tokens). */
  readonly issuers: readonly string[]
  readonly issuer: IssuerPolicy
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
  readonly tokenCache: TokenCacheSettings | undefined
  readonly introspection: IntrospectionConfig | undefined
  readonly logger: Logger | undefined
  readonly onEvent: ((event: TokenwardEvent) => void) | undefined
  readonly fetch: typeof fetch
  /** The runtime's HTTP client for discovery and introspection; none when `fetch` is given. */
  readonly send: Runtime['send']
  /** Ms since the epoch: token times and verdict caches. */
  readonly clock: () => number
  readonly dpop: DpopConfig
  readonly resource: ResourceConfig | undefined
  readonly http: HttpConfig
}

export function checkOptions(options: ValidatorOptions): Config {
  if (!isObject(options)) fail('options', 'must be an object with at least issuer and audience')
  refuseUnknownOptions('options', TOP_LEVEL_OPTIONS, options)

  const issuer = issuerPolicy(options)
  const issuers = issuer.listed
  // A template or a predicate counts as several issuers: each is discovered on its own.
  const single = issuers.length === 1 && !issuer.open
  if (options.jwksUri !== undefined) {
    if (!single)
      fail(
        'jwksUri',
        'is allowed only with a single issuer; several issuers use their own discovery',
      )
    httpsUrl(options.jwksUri, 'jwksUri', 'https://acme.zitadel.cloud/oauth/v2/keys')
  }

  const profile = options.profile
  if (profile !== undefined && profile !== 'zitadel')
    fail('profile', `must be 'zitadel' or left out; got ${String(profile)}`)

  const logger = loggerOption(options.logger)
  const audience = audiencePolicy(options, logger)
  const roles = roleReader(options, audience.required)

  const header = headerPolicy(options)

  const realm = options.realm ?? 'api'
  if (typeof realm !== 'string' || realm === '' || /[^\x20\x21\x23-\x5b\x5d-\x7e]/.test(realm)) {
    fail('realm', 'must be a non-empty string of printable ASCII without " or \\')
  }

  const jwks = jwksOption(options, single)
  const backoff = options.upstreamBackoff ?? {}
  if (!isObject(backoff)) fail('upstreamBackoff', 'must be an object { minSeconds, maxSeconds }')
  refuseUnknownOptions('upstreamBackoff', BACKOFF_OPTIONS, backoff)
  const minBackoff = numberInRange(backoff.minSeconds, 'upstreamBackoff.minSeconds', 1, {
    min: 0.001,
    max: 3600,
  })
  const maxBackoff = numberInRange(
    backoff.maxSeconds,
    'upstreamBackoff.maxSeconds',
    Math.max(30, minBackoff),
    { min: minBackoff, max: 86400 },
  )

  const fetchImpl = options.fetch ?? globalThis.fetch
  if (typeof fetchImpl !== 'function') fail('fetch', 'must be a fetch-compatible function')
  if (options.onEvent !== undefined && typeof options.onEvent !== 'function')
    fail('onEvent', 'must be a function (event) => void')
  const clock = options.clock ?? Date.now
  if (typeof clock !== 'function' || !Number.isFinite(clock()))
    fail('clock', 'must be a function returning the current time in ms, like Date.now')

  const dpop = dpopOption(options.dpop, header.algorithms, clock)
  return {
    dpop,
    resource: resourceOption(options, issuers, dpop),
    http: httpOption(options.http),
    issuers,
    issuer,
    audience,
    header,
    time: timePolicy(options),
    maxTokenLength: numberInRange(options.maxTokenLength, 'maxTokenLength', 16384, {
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
    discoveryTimeoutMs: numberInRange(options.discoveryTimeoutMs, 'discoveryTimeoutMs', 5000, {
      min: 1,
      max: 120_000,
      integer: true,
    }),
    backoff: { minMs: minBackoff * 1000, maxMs: maxBackoff * 1000 },
    tokenCache: tokenCacheOption(options.tokenCache),
    introspection: introspectionOption(options.introspection, single, issuers.length > 0),
    logger,
    onEvent: debugEnabled(options.debug)
      ? withDebugLines(options.onEvent, logger)
      : options.onEvent,
    fetch: fetchImpl,
    send: options.fetch === undefined ? runtime.send : undefined,
    clock,
  }
}

function jwksOption(
  options: ValidatorOptions,
  single: boolean,
): {
  keys: readonly JWK[] | undefined
  settings: Config['jwks']
} {
  const jwks = options.jwks ?? {}
  if (!isObject(jwks))
    fail('jwks', 'must be an object: { keys } for a static set, or cache settings')
  refuseUnknownOptions('jwks', JWKS_OPTIONS, jwks)
  let keys: readonly JWK[] | undefined
  if (jwks.keys !== undefined) {
    if (!single) fail('jwks.keys', 'is allowed only with a single issuer')
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
      const unusable = unusableKey(key)
      if (unusable !== undefined) fail(`jwks.keys[${i}]`, unusable)
      const problem = runtime.publicJwkProblem(key)
      if (problem !== undefined) {
        fail(`jwks.keys[${i}]`, `cannot be imported as a public key (${problem})`)
      }
    })
    keys = jwks.keys
  }
  return {
    keys,
    settings: {
      timeoutMs: numberInRange(jwks.timeoutMs, 'jwks.timeoutMs', 5000, {
        min: 1,
        max: 120_000,
        integer: true,
      }),
      cooldownMs:
        numberInRange(jwks.cooldownSeconds, 'jwks.cooldownSeconds', 30, { min: 0, max: 86400 }) *
        1000,
      cacheMaxAgeMs:
        numberInRange(jwks.cacheMaxAgeSeconds, 'jwks.cacheMaxAgeSeconds', 600, {
          min: 0.01,
          max: 7 * 86400,
        }) * 1000,
      staleIfErrorMs:
        numberInRange(jwks.staleIfErrorSeconds, 'jwks.staleIfErrorSeconds', 3600, {
          min: 0,
          max: 7 * 86400,
        }) * 1000,
    },
  }
}

function tokenCacheOption(option: ValidatorOptions['tokenCache']): Config['tokenCache'] {
  if (option === false) return undefined
  const cache = option ?? {}
  if (!isObject(cache)) fail('tokenCache', 'must be false or { max, ttlSeconds, maxBytes }')
  refuseUnknownOptions('tokenCache', TOKEN_CACHE_OPTIONS, cache)
  return {
    max: numberInRange(cache.max, 'tokenCache.max', 10_000, {
      min: 1,
      max: 10_000_000,
      integer: true,
    }),
    ttlSeconds: numberInRange(cache.ttlSeconds, 'tokenCache.ttlSeconds', 300, {
      min: 1,
      max: 86400,
    }),
    maxBytes: numberInRange(cache.maxBytes, 'tokenCache.maxBytes', 64 * 1024 * 1024, {
      min: 1024 * 1024,
      max: 2 ** 40,
      integer: true,
    }),
  }
}
