/**
 * What to do about a failed check. The core decides pass or fail; this only turns a failure
 * into advice, with ZITADEL-specific wording where the token looks like ZITADEL's.
 */
import type { Claims, TokenwardError, TokenwardErrorCode } from '@tokenward/core'
import { bindingHint, dpopProofHint, stepUpHint } from './binding-hints.js'
import type { RequestEvidence } from './request.js'

/** What the hints may look at: the token's (unverified) claims and the command's settings. */
export interface HintContext {
  readonly claims: Claims | undefined
  readonly trusted: readonly string[]
  readonly required: readonly string[]
  readonly strict: boolean
  readonly issuer: readonly string[]
  /**
   * The failure being explained: its description names the rule that failed (which DPoP proof
   * check, which binding), its challenge data what the route asks for (`acrValues`, `maxAge`).
   */
  readonly error?: TokenwardError
  /** The request the token came with: DPoP proof, method and URL, client certificate. */
  readonly request?: RequestEvidence
  /** When the check ran, Unix seconds. Default: now. */
  readonly now?: number
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

/** A ZITADEL app's client id, `<digits>@<project name>`; the name is group 1. */
const ZITADEL_APP = /^\d+@(.+)$/
/** A ZITADEL project id: digits only. */
const ZITADEL_PROJECT = /^\d+$/

/**
 * Whose app asked for a ZITADEL token, as far as `aud` tells. ZITADEL puts in `aud` the client
 * ids of every app of the requesting app's project, that project's id, and the ids of projects
 * the app asked for on top (scope `urn:zitadel:iam:org:project:id:{id}:aud`): app client ids in
 * `aud` are always the requesting project's. They are this API's project's when one of them is
 * trusted or has the project name of a trusted app (a client id ends in `@<project name>`); or,
 * with no app of this API given, when every project id in `aud` is a trusted one.
 */
function requestingProject(
  aud: readonly string[],
  own: readonly string[],
): 'this project' | 'another project' | 'unknown' {
  const apps = aud.filter((value) => ZITADEL_APP.test(value))
  if (apps.length === 0) return 'unknown'
  if (apps.some((app) => own.includes(app))) return 'this project'
  const names = new Set(own.flatMap((value) => ZITADEL_APP.exec(value)?.[1] ?? []))
  if (names.size > 0) {
    return apps.some((app) => names.has(ZITADEL_APP.exec(app)?.[1] ?? ''))
      ? 'this project'
      : 'another project'
  }
  const ownProjects = own.filter((value) => ZITADEL_PROJECT.test(value))
  const projects = aud.filter((value) => ZITADEL_PROJECT.test(value))
  return ownProjects.length > 0 && projects.every((id) => ownProjects.includes(id))
    ? 'this project'
    : 'unknown'
}

/**
 * Strict mode found a value of `aud` that is not trusted. Either it is another client of this
 * API (a sibling app of the same project: trusting it is safe) or it names someone else (then
 * the token was not meant for this API, and trusting it would undo what strict mode is for).
 */
function untrustedAudienceHint(
  aud: readonly string[],
  context: HintContext,
  zitadel: boolean,
): string {
  const own = [...context.trusted, ...context.required]
  const untrusted = aud.filter((value) => !own.includes(value))
  const first = untrusted[0] ?? '<value>'
  const projects = aud.filter((value) => ZITADEL_PROJECT.test(value))
  const requester = zitadel ? requestingProject(aud, own) : 'unknown'
  // What lenient mode should require: this API's ZITADEL project id, configured or (when this
  // project's app asked and aud names one project) read from aud; else the first required value.
  const numeric = (values: readonly string[]) => values.find((value) => ZITADEL_PROJECT.test(value))
  const projectId =
    (zitadel
      ? (numeric(context.required) ??
        numeric(own) ??
        (requester === 'this project' && projects.length === 1 ? projects[0] : undefined))
      : undefined) ??
    context.required[0] ??
    aud.find((value) => own.includes(value)) ??
    "<this API's id>"
  const trustOrLenient = (value: string) =>
    `trust it (add ${short(value)} to audience.trusted, --audience), or use lenient mode with required: [${short(projectId)}]`
  const eitherCase =
    `if ${short(first)} is another client of this API (an issuer may list sibling apps in aud), ` +
    `${trustOrLenient(first)}; if it names another API or another project's app, the token was ` +
    'not meant for this API: do not trust it'

  if (!zitadel) return eitherCase
  if (requester === 'another project') {
    const app = untrusted.find((value) => ZITADEL_APP.test(value)) ?? first
    return (
      `keep strict and do not trust ${short(app)}: it is an app of another project, so this token ` +
      "was issued to that project's app, which asked for this API's audience too; it was not " +
      "meant for this API. The caller needs a token from one of this project's apps"
    )
  }
  const app = untrusted.find((value) => ZITADEL_APP.test(value))
  if (app !== undefined && requester === 'this project') {
    return (
      `${short(app)} is another app of this API's project (ZITADEL puts every app client id of ` +
      `the project in aud): ${trustOrLenient(app)}`
    )
  }
  if (app !== undefined) {
    return (
      `if ${short(app)} is an app of this API's project, ${trustOrLenient(app)}; if it is another ` +
      "project's app, the token was issued to that app and not meant for this API: do not trust " +
      "it. Give this API's app client ids (--audience) to tell the two apart"
    )
  }
  if (requester === 'this project' && first === projectId) {
    return (
      `${short(first)} is this API's project id (ZITADEL puts it in aud next to the app client ` +
      `ids): trust it (add it to audience.trusted, --audience)`
    )
  }
  if (!ZITADEL_PROJECT.test(first)) return eitherCase
  // A project id that is not this API's: the app asked for that project's audience too.
  return (
    `${short(first)} is another project's id: the client asked for that project's audience too ` +
    `(scope urn:zitadel:iam:org:project:id:${short(first)}:aud). Trust it only if tokens for ` +
    `that project may call this API; else keep strict and ask for a token for ${short(projectId)} only`
  )
}

/** How to fix a failed check, in one line; undefined when there is nothing to add. */
export function hintFor(code: TokenwardErrorCode, context: HintContext): string | undefined {
  const { claims } = context
  const aud = audienceOf(claims)
  const zitadel = looksLikeZitadel(claims)
  switch (code) {
    case 'untrusted_audience':
      return untrustedAudienceHint(aud, context, zitadel)
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
    case 'invalid_dpop_proof':
      return dpopProofHint(bindingContext(context))
    case 'invalid_token_binding':
      return bindingHint(bindingContext(context))
    case 'insufficient_user_authentication':
      return stepUpHint(bindingContext(context))
    case 'upstream_unavailable':
      return 'the issuer did not answer: check --issuer and the network (discovery, JWKS, introspection)'
    default:
      return undefined
  }
}

function bindingContext(context: HintContext) {
  return {
    claims: context.claims,
    error: context.error,
    request: context.request,
    now: context.now ?? Date.now() / 1000,
  }
}
