/**
 * The audience policy and the authorized-party rules, from the option to the verdict.
 *
 * lenient: at least one `aud` value is trusted (RFC 7519 §4.1.3).
 * strict:  every `aud` value is trusted (OIDC Core §3.1.3.7 rule 3), one of them names this API,
 *          `azp` and `client_id` agree, and a token with several audiences names its client
 *          (`azp` or `client_id`, OIDC Core §2 `azp`).
 * Both:    every `required` value is present, and the client is on `authorizedParties` when
 *          that allow-list is given. Comparison is exact: no trimming, no URL folding.
 *
 * A required value (this API's own id) is always trusted, whatever the trust list or predicate
 * says: a token addressed to this API cannot be refused for naming it.
 */
import { TokenwardError, describeValue } from './errors.js'
import {
  fail,
  isObject,
  nonEmptyStrings,
  optionNames,
  refuseUnknownOptions,
} from './option-values.js'
import type { AudienceMode, AudienceOptions, Claims, Logger, ValidatorOptions } from './types.js'

export interface AudiencePolicy {
  readonly mode: AudienceMode
  readonly isTrusted: (aud: string) => boolean
  /** This API's own identifiers: `required` when given, else the trusted values. */
  readonly isOwn: (aud: string) => boolean
  readonly required: readonly string[]
  /** Allow-list on `client_id ?? azp`. */
  readonly authorizedParties: ReadonlySet<string> | undefined
}

const AUDIENCE_OPTIONS = optionNames<AudienceOptions>({ trusted: true, mode: true, required: true })

/* eslint-disable @typescript-eslint/no-unnecessary-condition --
   Options come from JavaScript callers and JSON files too: these checks run against values the
   types already forbid. */
/**
 * The policy of the `audience` and `authorizedParties` options; throws a `ConfigurationError`.
 * Warns when a lenient policy would accept a token addressed only to a co-audience.
 */
export function audiencePolicy(
  options: Pick<ValidatorOptions, 'audience' | 'authorizedParties'>,
  logger: Logger | undefined,
): AudiencePolicy {
  const raw = options.audience as unknown
  if (raw === undefined) {
    fail(
      'audience',
      'is required: the audience values this API trusts, e.g. { trusted: ["<project id>"], mode: "strict" }',
    )
  }
  const shorthand = typeof raw === 'string' || Array.isArray(raw)
  const spec = (shorthand ? { trusted: raw } : raw) as AudienceOptions
  if (!isObject(spec))
    fail('audience', 'must be a string, an array of strings or { trusted, mode, required }')
  refuseUnknownOptions('audience', AUDIENCE_OPTIONS, spec)
  const mode = spec.mode ?? 'lenient'
  if (mode !== 'strict' && mode !== 'lenient')
    fail('audience.mode', `must be 'strict' or 'lenient'; got ${String(mode)}`)
  const required =
    spec.required === undefined
      ? []
      : nonEmptyStrings(
          spec.required,
          'audience.required',
          'list the ids that must be in aud, e.g. your project id',
        )
  const requiredSet = new Set(required)
  const trusted = spec.trusted
  let isTrusted: (aud: string) => boolean
  if (typeof trusted === 'function') {
    isTrusted = (aud) => requiredSet.has(aud) || trusted(aud)
  } else {
    const option = shorthand ? 'audience' : 'audience.trusted'
    if (trusted === '') fail(option, 'must not be an empty string')
    const list =
      typeof trusted === 'string'
        ? [trusted]
        : nonEmptyStrings(
            trusted,
            option,
            'list the audience values this API trusts, or pass a predicate (aud) => boolean',
          )
    const set = new Set([...list, ...required])
    isTrusted = (aud) => set.has(aud)
    if (mode === 'lenient' && required.length === 0 && set.size > 1) {
      // Any trusted value passes, so a token addressed only to a co-audience passes too.
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
            nonEmptyStrings(
              options.authorizedParties,
              'authorizedParties',
              'list the client ids allowed to call this API',
            ),
          ),
  }
}

/* eslint-enable @typescript-eslint/no-unnecessary-condition */

/** `aud` as a list of strings (RFC 7519 §4.1.3), or an `invalid_audience` error. */
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

/** `azp` and `client_id` agree; a token with several audiences names its client. */
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

/**
 * The client the token was issued to is on the allow-list; `azp` and `client_id`, when both are
 * present, name the same client (else one of them could smuggle an allowed client in).
 */
export function checkAuthorizedParty(
  claims: Claims,
  allowed: ReadonlySet<string> | undefined,
): void {
  if (allowed === undefined) return
  const { azp, client_id: clientId } = claims
  if (azp !== undefined && clientId !== undefined && azp !== clientId) {
    throw new TokenwardError('unauthorized_party', { detail: 'azp and client_id differ' })
  }
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
