/**
 * The `introspection` option (RFC 7662 token introspection), checked once when the validator is
 * created; its client authentication is checked in `client-auth.ts`.
 */
import { introspectionAuthOption } from './client-auth.js'
import {
  fail,
  httpsUrl,
  isObject,
  numberInRange,
  optionNames,
  refuseUnknownOptions,
} from './option-values.js'
import { signingKeyOption } from './shared-answers.js'
import type { CacheStore, IntrospectionAuth, IntrospectionOptions } from './types.js'

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
  /** HMAC key of shared-store entries; entries without a valid MAC are ignored. */
  readonly signingKey: Uint8Array | undefined
}

const INTROSPECTION_OPTIONS = optionNames<IntrospectionOptions>({
  endpoint: true,
  auth: true,
  mode: true,
  timeoutMs: true,
  audienceOptional: true,
  cache: true,
})
const CACHE_OPTIONS = optionNames<NonNullable<IntrospectionOptions['cache']>>({
  max: true,
  ttlSeconds: true,
  negativeTtlSeconds: true,
  store: true,
  signingKey: true,
})

/* eslint-disable @typescript-eslint/no-unnecessary-condition --
   Options come from JavaScript callers and JSON files too: these checks run against values the
   types already forbid. */
/** The checked `introspection` option; `single`: one issuer (an endpoint may be configured). */
export function introspectionOption(
  intro: IntrospectionOptions | undefined,
  single: boolean,
  named: boolean,
): IntrospectionConfig | undefined {
  if (intro === undefined) return undefined
  if (!isObject(intro))
    fail('introspection', 'must be an object { auth, endpoint?, mode?, timeoutMs?, cache? }')
  refuseUnknownOptions('introspection', INTROSPECTION_OPTIONS, intro)
  if (intro.endpoint !== undefined) {
    if (!single)
      fail(
        'introspection.endpoint',
        'is allowed only with a single issuer; several issuers use their own discovery',
      )
    httpsUrl(
      intro.endpoint,
      'introspection.endpoint',
      'https://acme.zitadel.cloud/oauth/v2/introspect',
    )
  }
  const mode = intro.mode ?? 'opaque'
  if (mode !== 'opaque' && mode !== 'always')
    fail('introspection.mode', `must be 'opaque' or 'always'; got ${String(mode)}`)
  if (!named && mode === 'opaque') {
    fail(
      'introspection',
      "needs an issuer named in full: an opaque token does not say its issuer (or use mode 'always' for JWTs only)",
    )
  }
  if (intro.audienceOptional !== undefined && typeof intro.audienceOptional !== 'boolean') {
    fail('introspection.audienceOptional', 'must be a boolean')
  }
  const cache = intro.cache ?? {}
  if (!isObject(cache))
    fail(
      'introspection.cache',
      'must be an object { max, ttlSeconds, negativeTtlSeconds, store, signingKey }',
    )
  refuseUnknownOptions('introspection.cache', CACHE_OPTIONS, cache)
  const store = cache.store as Partial<CacheStore> | undefined
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
  const ttlSeconds = numberInRange(cache.ttlSeconds, 'introspection.cache.ttlSeconds', 60, {
    min: 0,
    max: 86400,
  })
  return {
    endpoint: intro.endpoint,
    auth: introspectionAuthOption(intro.auth),
    mode,
    timeoutMs: numberInRange(intro.timeoutMs, 'introspection.timeoutMs', 5000, {
      min: 1,
      max: 120_000,
      integer: true,
    }),
    audienceOptional: intro.audienceOptional === true,
    cacheMax: numberInRange(cache.max, 'introspection.cache.max', 10_000, {
      min: 1,
      max: 10_000_000,
      integer: true,
    }),
    ttlSeconds,
    negativeTtlSeconds: numberInRange(
      cache.negativeTtlSeconds,
      'introspection.cache.negativeTtlSeconds',
      Math.min(10, ttlSeconds),
      { min: 0, max: 3600 },
    ),
    store: store as CacheStore | undefined,
    signingKey: signingKeyOption(cache.signingKey),
  }
}

/* eslint-enable @typescript-eslint/no-unnecessary-condition */
