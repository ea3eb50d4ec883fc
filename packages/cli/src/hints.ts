/**
 * What to do about a failed check. The core decides pass or fail; this only turns a failure
 * into advice, with ZITADEL-specific wording where the token looks like ZITADEL's.
 */
import type { Claims, TokenwardErrorCode } from '@tokenward/core'

/** What the hints may look at: the token's (unverified) claims and the command's settings. */
export interface HintContext {
  readonly claims: Claims | undefined
  readonly trusted: readonly string[]
  readonly required: readonly string[]
  readonly strict: boolean
  readonly issuer: readonly string[]
}

const ZITADEL_ROLE_CLAIM = /^urn:zitadel:iam:org:project:(\d+):roles$/

function looksLikeZitadel(claims: Claims | undefined): boolean {
  return (
    (claims !== undefined &&
      Object.keys(claims).some((name) => name.startsWith('urn:zitadel:iam:'))) ||
    (typeof claims?.client_id === 'string' && /^\d+@/.test(claims.client_id))
  )
}

function audienceOf(claims: Claims | undefined): string[] {
  const aud = claims?.aud
  if (typeof aud === 'string') return [aud]
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : []
}

function short(value: string): string {
  return value.length > 40 ? `${value.slice(0, 37)}...` : value
}

export function hintFor(code: TokenwardErrorCode, context: HintContext): string | undefined {
  const { claims } = context
  const aud = audienceOf(claims)
  const zitadel = looksLikeZitadel(claims)
  switch (code) {
    case 'untrusted_audience': {
      const untrusted = aud.filter(
        (value) => !context.trusted.includes(value) && !context.required.includes(value),
      )
      const first = untrusted[0] ?? '<value>'
      const own =
        context.required[0] ??
        aud.find((value) => /^\d+$/.test(value) && context.trusted.includes(value)) ??
        '<your project id>'
      if (zitadel && /^\d+$/.test(first)) {
        // A bare number in a ZITADEL aud is a project id: the caller asked for another project.
        return (
          `${short(first)} is another project's id: the client asked for that project's audience ` +
          `too (scope urn:zitadel:iam:org:project:id:${short(first)}:aud). Trust it only if tokens ` +
          `for that project may call this API; else keep strict and ask for a token for ${own} only`
        )
      }
      return (
        `add ${short(first)} to audience.trusted (--audience), or use lenient mode with ` +
        `required: [${own}]` +
        (zitadel ? ' (ZITADEL puts every app client id of the project in aud)' : '')
      )
    }
    case 'invalid_audience': {
      const missing = context.required.find((value) => !aud.includes(value))
      if (missing !== undefined && zitadel) {
        return `add the scope urn:zitadel:iam:org:project:id:${missing}:aud to the login request, so ZITADEL puts the project in aud`
      }
      if (missing !== undefined)
        return `the token must name ${short(missing)} in aud: ask the issuer for a token for this API`
      return `none of aud (${aud.map(short).join(', ') || 'empty'}) is trusted: add this API's id to --audience, or get a token issued for this API`
    }
    case 'invalid_issuer': {
      const iss = typeof claims?.iss === 'string' ? claims.iss : undefined
      return iss === undefined
        ? 'the token has no iss claim'
        : `--issuer must equal iss exactly (no trailing slash): "${short(iss)}"`
    }
    case 'token_expired':
      return "get a new token; if it should still be valid, check this machine's clock"
    case 'token_not_yet_valid':
      return 'the token starts in the future: check the clocks of this machine and the issuer'
    case 'invalid_token_type':
      return typeof claims?.at_hash === 'string' ||
        typeof claims?.nonce === 'string' ||
        typeof claims?.azp === 'string'
        ? 'this is an ID token: send the access token from the token response instead'
        : 'the header typ is not one of the accepted token types (tokenTypes)'
    case 'alg_not_allowed':
      return 'the signing algorithm is not in algorithms: allow it, or configure the issuer to sign with an allowed one'
    case 'unknown_key':
      return "no key of the issuer's JWKS matches the token kid: is the token from this issuer, or was its key deleted?"
    case 'invalid_signature':
      return "the token was altered, or signed by a key that is not the issuer's"
    case 'unauthorized_party':
      return 'the client (client_id / azp) is not allowed: add it to authorizedParties, or check that azp and client_id agree'
    case 'insufficient_role': {
      const projects = Object.keys(claims ?? {})
        .map((name) => ZITADEL_ROLE_CLAIM.exec(name)?.[1])
        .filter((id): id is string => id !== undefined)
      return zitadel
        ? `grant the role to the user in ZITADEL and request the scope urn:zitadel:iam:org:projects:roles (or turn on "Assert Roles on Authentication")${projects.length > 0 ? `; the token has roles for project(s) ${projects.join(', ')}` : '; the token has no project role claim'}`
        : 'the caller lacks a required role: grant it at the issuer'
    }
    case 'insufficient_scope':
      return zitadel
        ? 'ZITADEL JWT access tokens carry no scope: check scopes with introspection (--introspect-always)'
        : 'request the scope when the token is obtained'
    case 'token_inactive':
      return 'the issuer says the token is revoked, expired, or not meant for this client'
    case 'malformed_token':
      return 'not a token tokenward can check: a JWS compact JWT, or an opaque token with --introspect'
    case 'upstream_unavailable':
      return 'the issuer did not answer: check --issuer and the network (discovery, JWKS, introspection)'
    default:
      return undefined
  }
}
