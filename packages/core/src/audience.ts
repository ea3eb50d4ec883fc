/**
 * The audience policy (validation-rules.md Part 3) and the authorized-party rules.
 *
 * lenient: at least one `aud` value is trusted (RFC 7519 §4.1.3).
 * strict:  every `aud` value is trusted (OIDC Core §3.1.3.7 rule 3), one of them names this API,
 *          and a multi-audience token names its client (`azp` / `client_id`, S1–S3).
 * Both:    every `required` value is present. Comparison is exact: no trimming, no URL folding.
 */
import { TokenwardError, describeValue } from './errors.js'
import type { AudienceMode, Claims } from './types.js'

export interface AudiencePolicy {
  readonly mode: AudienceMode
  readonly isTrusted: (aud: string) => boolean
  /** This API's own identifiers: `required` when given, else the trusted values. */
  readonly isOwn: (aud: string) => boolean
  readonly required: readonly string[]
  /** Allow-list on `client_id ?? azp`. */
  readonly authorizedParties: ReadonlySet<string> | undefined
}

/** `aud` as a list of strings (R-E7), or an `invalid_audience` error. */
export function audienceList(aud: unknown): readonly string[] {
  if (typeof aud === 'string') return [aud]
  if (Array.isArray(aud) && aud.length > 0 && aud.every((a) => typeof a === 'string')) {
    return aud
  }
  const detail = aud === undefined ? 'no aud claim' : 'aud is not a string or a list of strings'
  throw new TokenwardError('invalid_audience', { detail })
}

/** Throws `invalid_audience`, `untrusted_audience` or `unauthorized_party`; returns `aud` as a list. */
export function checkAudience(claims: Claims, policy: AudiencePolicy): readonly string[] {
  const aud = audienceList(claims.aud)
  const missing = policy.required.find((value) => !aud.includes(value))
  if (missing !== undefined) {
    throw new TokenwardError('invalid_audience', {
      detail: `required audience ${describeValue(missing)} is missing`,
    })
  }
  const identifies = policy.mode === 'strict' ? policy.isOwn : policy.isTrusted
  if (!aud.some(identifies)) {
    throw new TokenwardError('invalid_audience', {
      detail: `no trusted audience in ${describeValue(aud.join(' '))}`,
    })
  }
  if (policy.mode === 'strict') {
    const untrusted = aud.find((value) => !policy.isTrusted(value))
    if (untrusted !== undefined) {
      throw new TokenwardError('untrusted_audience', {
        detail: `${describeValue(untrusted)} is not a trusted audience`,
      })
    }
    checkStrictParty(claims, aud)
  }
  checkAuthorizedParty(claims, policy.authorizedParties)
  return aud
}

/** S1: `azp` and `client_id` agree. S2: a multi-audience token names its client. */
function checkStrictParty(claims: Claims, aud: readonly string[]): void {
  const { azp, client_id: clientId } = claims
  if (azp !== undefined && clientId !== undefined && azp !== clientId) {
    throw new TokenwardError('unauthorized_party', { detail: 'azp and client_id differ' })
  }
  if (aud.length > 1 && typeof azp !== 'string' && typeof clientId !== 'string') {
    throw new TokenwardError('unauthorized_party', {
      detail: 'a token with several audiences must name its client (azp or client_id)',
    })
  }
}

/** S3 / R-F3: the client the token was issued to is on the allow-list. */
export function checkAuthorizedParty(
  claims: Claims,
  allowed: ReadonlySet<string> | undefined,
): void {
  if (allowed === undefined) return
  const party = clientOf(claims)
  if (party === undefined || !allowed.has(party)) {
    const detail =
      party === undefined ? 'no client_id or azp' : `client ${describeValue(party)} is not allowed`
    throw new TokenwardError('unauthorized_party', { detail })
  }
}

/** The client a token was issued to: `client_id ?? azp`. */
export function clientOf(claims: Claims): string | undefined {
  const party = claims.client_id ?? claims.azp
  return typeof party === 'string' ? party : undefined
}
