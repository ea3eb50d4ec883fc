/**
 * The checks that need no network: JOSE header (alg, crit, typ), issuer, time claims and
 * token-kind confusion. They run before any key is fetched, so a bad token gets its 4xx even
 * while the issuer is down.
 */
import { TokenwardError, describeValue } from './errors.js'
import type { IssuerPolicy } from './issuer-policy.js'
import { fail, numberInRange } from './option-values.js'
import type { Claims, JwsAlgorithm, ValidatorOptions } from './types.js'

export interface HeaderPolicy {
  readonly algorithms: ReadonlySet<string>
  /** Normalised `typ` values (lower case, no `application/`); `''` stands for an absent `typ`. */
  readonly tokenTypes: ReadonlySet<string>
}

export interface TimePolicy {
  readonly clockToleranceSeconds: number
  readonly maxTokenAgeSeconds: number | undefined
}

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

/** The policy of the `algorithms` and `tokenTypes` options; throws a `ConfigurationError`. */
export function headerPolicy(
  options: Pick<ValidatorOptions, 'algorithms' | 'tokenTypes'>,
): HeaderPolicy {
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
  return {
    algorithms: new Set(algorithms),
    tokenTypes: new Set(
      (tokenTypes as readonly (string | null)[]).map((t) => (t === null ? '' : normalizeType(t))),
    ),
  }
}

/** The policy of `clockToleranceSeconds` and `maxTokenAgeSeconds`; throws a `ConfigurationError`. */
export function timePolicy(
  options: Pick<ValidatorOptions, 'clockToleranceSeconds' | 'maxTokenAgeSeconds'>,
): TimePolicy {
  return {
    clockToleranceSeconds: numberInRange(
      options.clockToleranceSeconds,
      'clockToleranceSeconds',
      5,
      {
        min: 0,
        max: 600,
      },
    ),
    maxTokenAgeSeconds:
      options.maxTokenAgeSeconds === undefined
        ? undefined
        : numberInRange(options.maxTokenAgeSeconds, 'maxTokenAgeSeconds', 0, { min: 1 }),
  }
}

/** `typ` compared case-insensitively with an optional `application/` prefix (RFC 7515 §4.1.9). */
export function normalizeType(typ: string): string {
  const lower = typ.toLowerCase()
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower
}

/** `alg` is on the allow-list (`none` and HMAC never are): RFC 8725 §3.1, §3.2. */
export function checkAlgorithm(header: Record<string, unknown>, policy: HeaderPolicy): void {
  const alg = header.alg as string
  if (!policy.algorithms.has(alg)) {
    throw new TokenwardError('alg_not_allowed', { detail: describeValue(alg) })
  }
}

/**
 * No header extension is understood, so any critical one is refused (RFC 7515 §4.1.11), and so
 * is an unencoded payload (RFC 7797 §3).
 */
export function checkCritical(header: Record<string, unknown>): void {
  if (header.crit !== undefined || header.b64 !== undefined) {
    throw new TokenwardError('malformed_token', { detail: 'unsupported critical header' })
  }
}

/** The header `typ` is one of the accepted token types (RFC 8725 §3.11, RFC 9068 §2.1). */
export function checkType(header: Record<string, unknown>, policy: HeaderPolicy): void {
  const { typ } = header
  if (typ !== undefined && (typeof typ !== 'string' || typ === '')) {
    // An empty typ is not an absent one: only a missing member stands for "no type".
    throw new TokenwardError('invalid_token_type', { detail: 'typ is not a type name' })
  }
  if (!policy.tokenTypes.has(typ === undefined ? '' : normalizeType(typ))) {
    throw new TokenwardError('invalid_token_type', {
      detail: typ === undefined ? 'typ is missing' : `typ ${describeValue(typ)}`,
    })
  }
}

/** Seconds of the latest date JavaScript can represent (ECMA-262 §21.4.1.22). */
const LATEST_DATE = 8.64e12

/** A NumericDate (RFC 7519 §2): a non-negative JSON number that is a representable date. */
function numericDate(claims: Claims, name: string): number | undefined {
  const value = claims[name]
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !(value >= 0 && value <= LATEST_DATE)) {
    throw new TokenwardError('malformed_token', { detail: `${name} is not a NumericDate` })
  }
  return value
}

/**
 * `exp` required (RFC 9068 §2.2); `nbf`, `iat` checked when present (RFC 7519 §4.1.4–4.1.6),
 * each with the clock tolerance. Returns `exp`.
 */
export function checkTimes(
  claims: Claims,
  policy: TimePolicy,
  now: number,
  expRequired: boolean,
): number | undefined {
  const skew = policy.clockToleranceSeconds
  const exp = numericDate(claims, 'exp')
  const nbf = numericDate(claims, 'nbf')
  const iat = numericDate(claims, 'iat')
  if (exp === undefined && expRequired) {
    throw new TokenwardError('malformed_token', { detail: 'no exp claim' })
  }
  if (exp !== undefined && now >= exp + skew) throw new TokenwardError('token_expired')
  if (nbf !== undefined && now < nbf - skew) throw new TokenwardError('token_not_yet_valid')
  if (iat !== undefined && iat > now + skew) {
    throw new TokenwardError('token_not_yet_valid', { detail: 'issued in the future' })
  }
  if (policy.maxTokenAgeSeconds !== undefined) {
    if (iat === undefined) throw new TokenwardError('malformed_token', { detail: 'no iat claim' })
    if (now - iat > policy.maxTokenAgeSeconds + skew) {
      throw new TokenwardError('token_expired', { detail: 'issued too long ago' })
    }
  }
  return exp
}

/** `iss` is a trusted issuer (see `issuer-policy.ts`). Returns it. */
export function checkIssuer(
  claims: Claims,
  issuers: Pick<IssuerPolicy, 'accepts' | 'expected'> & { readonly listed?: readonly string[] },
): string {
  const { iss } = claims
  if (typeof iss !== 'string' || !issuers.accepts(iss, claims)) {
    const found = iss === undefined ? 'no iss claim' : describeValue(iss)
    // A configured issuer that differs from the token's only by a trailing slash is the
    // operator's mistake, not the client's: the cause says so, for the one warning it deserves.
    const bare = typeof iss === 'string' ? iss.replace(/\/$/, '') : undefined
    const configured = issuers.listed?.find((one) => one.replace(/\/$/, '') === bare)
    throw new TokenwardError('invalid_issuer', {
      detail: `${found}, expected ${issuers.expected}`,
      ...(configured === undefined ? {} : { cause: { configured, tokenIssuer: iss } }),
    })
  }
  return iss
}

/**
 * What an introspection answer says the token is (`token_type`, RFC 7662 §2.2; Ory Hydra's
 * `token_use`; Keycloak's `typ`), compared case-insensitively: a refresh token (RFC 6749 §1.5:
 * never sent to a resource server) or an ID token is `invalid_token_type`. An absent member, or
 * any other value (`access_token`, `Bearer`, `DPoP`, …), is an access token.
 */
export function checkIntrospectedType(claims: Claims): void {
  for (const member of ['token_type', 'token_use', 'typ'] as const) {
    const value = claims[member]
    if (typeof value === 'string' && NOT_ACCESS_TOKENS.has(value.toLowerCase())) {
      throw new TokenwardError('invalid_token_type', {
        detail: `the issuer says ${member} is ${describeValue(value)}`,
      })
    }
  }
}

/** Token types of refresh and ID tokens, lower case (RFC 8693 §3 for the URNs). */
export const NOT_ACCESS_TOKENS: ReadonlySet<string> = new Set([
  'refresh_token',
  'refresh',
  'offline',
  'urn:ietf:params:oauth:token-type:refresh_token',
  'id_token',
  'id',
  'urn:ietf:params:oauth:token-type:id_token',
  'logout',
])

const ID_TOKEN_MARKERS = ['nonce', 'at_hash', 'c_hash', 's_hash'] as const

/**
 * An ID token is not an access token (RFC 9068 §4, RFC 8725 §2.8). With the ZITADEL profile, an access token
 * has `jti` and `client_id` and no `azp`, which ZITADEL ID tokens (same `typ`, same keys) lack.
 */
export function checkTokenKind(claims: Claims, zitadelProfile: boolean): void {
  const marker = ID_TOKEN_MARKERS.find((name) => claims[name] !== undefined)
  if (marker !== undefined) {
    throw new TokenwardError('invalid_token_type', { detail: `an ID token (has ${marker})` })
  }
  for (const name of ['sub', 'client_id', 'azp', 'jti'] as const) {
    if (claims[name] !== undefined && typeof claims[name] !== 'string') {
      throw new TokenwardError('malformed_token', { detail: `${name} is not a string` })
    }
  }
  if (!zitadelProfile) return
  if (claims.azp !== undefined || claims.jti === undefined) {
    throw new TokenwardError('invalid_token_type', {
      detail: claims.azp !== undefined ? 'an ID token (has azp)' : 'an ID token (no jti)',
    })
  }
  if (claims.client_id === undefined) {
    throw new TokenwardError('malformed_token', { detail: 'no client_id claim' })
  }
}
