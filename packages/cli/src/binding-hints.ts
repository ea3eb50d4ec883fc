/**
 * What to do about a refused proof of possession (RFC 9449 DPoP, RFC 8705 certificate) or a
 * login too weak for the route (RFC 9470 step-up). The core says which rule failed in its
 * error's detail; the hints add the values on both sides (the proof, the request, the token's
 * `cnf`, the certificate) and the fix. Nothing here decides.
 */
import {
  DPOP_CLOCK_TOLERANCE_SECONDS,
  DPOP_IAT_WINDOW_SECONDS,
  normalizeHtu,
} from '@tokenward/core'
import type { Claims, TokenwardError } from '@tokenward/core'
import type { RequestEvidence } from './request.js'

/** What these hints look at. */
export interface BindingHintContext {
  readonly claims: Claims | undefined
  readonly error: TokenwardError | undefined
  readonly request: RequestEvidence | undefined
  /** Unix seconds. */
  readonly now: number
}

/** The core's detail: its description after the code's fixed sentence. */
function detailOf(error: TokenwardError | undefined): string {
  const description = error?.description ?? ''
  const colon = description.indexOf(': ')
  return colon === -1 ? '' : description.slice(colon + 2)
}

function quoted(value: unknown): string {
  if (typeof value !== 'string') return value === undefined ? 'none' : JSON.stringify(value)
  return `"${value.length > 80 ? `${value.slice(0, 77)}...` : value}"`
}

function cnfOf(claims: Claims | undefined): Readonly<Record<string, unknown>> {
  const cnf = claims?.cnf
  return typeof cnf === 'object' && cnf !== null && !Array.isArray(cnf)
    ? (cnf as Record<string, unknown>)
    : {}
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z')
}

const GIVE_PROOF =
  'give the DPoP header value with --dpop-proof, and the request with --method and --url'

/** `invalid_dpop_proof`: which of RFC 9449 §4.3's checks failed, with both sides. */
export function dpopProofHint(context: BindingHintContext): string {
  const detail = detailOf(context.error)
  const proof = context.request?.proof
  const claims = proof?.claims ?? {}
  const header = proof?.header ?? {}
  const algs = context.error?.dpop?.algs ?? []
  if (detail === 'the request has no DPoP proof') {
    return `the token came with the DPoP scheme but without a DPoP header: ${GIVE_PROOF}`
  }
  if (detail === 'more than one DPoP header') {
    return 'send exactly one DPoP header (RFC 9449 §4.3): a proof holds no comma, so a comma means two headers were joined'
  }
  if (detail.startsWith('the proof is not a compact JWS')) {
    return '--dpop-proof must be the DPoP header value as sent: one signed JWT (three base64url parts separated by dots), at most 8 KiB'
  }
  if (detail.endsWith('is not a JSON object')) {
    return "the proof's header and payload must each be a base64url-encoded JSON object: the client's proof is damaged"
  }
  if (detail.startsWith('typ must be')) {
    return `the proof's header has typ ${quoted(header.typ)}: a DPoP proof must have typ "dpop+jwt" (RFC 9449 §4.2); a client that signs an ordinary JWT is not making a DPoP proof`
  }
  if (detail.startsWith('alg ')) {
    return `the proof is signed with alg ${quoted(header.alg)}; accepted are ${algs.join(', ')} (an asymmetric algorithm, never none or HS*): sign the proof with one of them, or allow the client's algorithm (dpop.algorithms)`
  }
  if (detail === 'crit is not supported') {
    return 'remove crit from the proof header: DPoP defines no critical header parameter'
  }
  if (detail === 'the header has no jwk') {
    return "put the client's public key in the proof header as jwk (RFC 9449 §4.2): the API checks the signature with it"
  }
  if (detail === 'the jwk holds a private key') {
    return "the proof header's jwk holds private key members (d, p, q, ...): the client publishes its private key with every request. Embed the public key only, and replace this key pair"
  }
  if (detail.startsWith('the jwk is not a usable public key')) {
    const jwk = header.jwk as Record<string, unknown> | undefined
    return `the jwk (kty ${quoted(jwk?.kty)}${jwk?.crv === undefined ? '' : `, crv ${quoted(jwk.crv)}`}) cannot verify alg ${quoted(header.alg)}: ES256 needs an EC P-256 key, PS256 and RS256 an RSA key, EdDSA an OKP key`
  }
  if (detail.startsWith('jti')) {
    return 'give every proof a unique jti (a random UUID is usual), at most 256 characters (RFC 9449 §4.2, §11.1)'
  }
  if (detail.startsWith('htm')) {
    return detail === 'htm is missing'
      ? 'the proof has no htm: set it to the method of the request it goes with'
      : `the proof was made for method ${quoted(claims.htm)}, the request is ${quoted(context.request?.method)} (--method): make a new proof for every request, with htm the request's method (case-sensitive)`
  }
  if (detail.startsWith('htu')) {
    if (detail === 'htu is missing') {
      return 'the proof has no htu: set it to the URL of the request it goes with, without query and fragment'
    }
    const htu = typeof claims.htu === 'string' ? claims.htu : ''
    const url = context.request?.url ?? ''
    const made = normalizeHtu(htu)
    const wanted = normalizeHtu(url)
    const sameOrigin =
      made !== undefined && wanted !== undefined && new URL(made).origin === new URL(wanted).origin
    return (
      `the proof was made for htu ${quoted(htu)}, the request URL is ${quoted(url)} (--url); ` +
      'they are compared without query and fragment, after normalisation (RFC 9449 §4.3). ' +
      (sameOrigin
        ? 'The paths differ: the client made the proof for another endpoint'
        : 'The origins differ: behind a proxy or a load balancer the API must know the URL clients use (http.baseUrl, or http.trustProxy for a trusted proxy that sets X-Forwarded-Proto and -Host); else the client made the proof for another host')
    )
  }
  if (detail.startsWith('iat')) {
    const iat = claims.iat
    if (typeof iat !== 'number') return 'the proof has no iat: set it to the time the proof is made'
    const age = Math.round(context.now - iat)
    const when = age >= 0 ? `${age} seconds before this check` : `${-age} seconds after this check`
    return `the proof was made at ${iso(iat)} (${when}); by default a proof is accepted up to ${DPOP_IAT_WINDOW_SECONDS} seconds old and ${DPOP_CLOCK_TOLERANCE_SECONDS} seconds ahead (dpop.iatWindowSeconds, dpop.clockToleranceSeconds): make a fresh proof for every request, and check the client's clock`
  }
  if (detail.startsWith('ath')) {
    return detail === 'ath is missing'
      ? 'the proof has no ath: with an access token, a proof must carry ath, the base64url SHA-256 of the token (RFC 9449 §4.2)'
      : "the proof's ath is not the base64url SHA-256 of this token (RFC 9449 §4.2): the proof was made for another access token, or the hash was taken over something else (the whole header, padding)"
  }
  if (detail.startsWith('the signature does not verify')) {
    return 'the proof was not signed by the private key of its jwk, or was changed after it was signed'
  }
  if (detail === 'the proof was used before') {
    return 'a proof is single-use (RFC 9449 §11.1): the client sent this proof (same key, URL and jti) before. Make a new proof with a fresh jti for every request, retries included'
  }
  return 'see the checks of RFC 9449 §4.3'
}

/** `invalid_token_binding`: the token's `cnf` against what the request proves, both shown. */
export function bindingHint(context: BindingHintContext): string {
  const detail = detailOf(context.error)
  const cnf = cnfOf(context.claims)
  const proof = context.request?.proof
  const certificate = context.request?.certificate
  const x5t = cnf['x5t#S256']
  if (detail.startsWith('the token is DPoP-bound')) {
    return `the token is DPoP-bound (cnf.jkt ${quoted(cnf.jkt)}): send it as "Authorization: DPoP <token>" with a DPoP proof signed by that key, never as Bearer (RFC 9449 §7.2)${proof === undefined ? `; ${GIVE_PROOF}` : ''}`
  }
  if (detail === 'the DPoP proof key is not the one of cnf.jkt') {
    return `the proof is signed by the key with thumbprint ${quoted(proof?.jkt)}, the token is bound to cnf.jkt ${quoted(cnf.jkt)}: the client must sign its proofs with the key pair it used when it got the token`
  }
  if (detail.startsWith('the token is not DPoP-bound')) {
    return 'the token came with a DPoP proof but has no cnf.jkt: send it as Bearer, or have the client send a DPoP proof with its token request so the issuer binds the token to its key'
  }
  if (detail === 'only DPoP-bound tokens are accepted') {
    return "this API accepts DPoP-bound tokens only (dpop.mode 'required'): the client must send a DPoP proof with its token request and use the DPoP scheme"
  }
  if (detail.startsWith('the token is certificate-bound')) {
    return `the token is bound to a client certificate (cnf x5t#S256 ${quoted(x5t)}): the request must come over mutual TLS with that certificate (RFC 8705 §3), or through a TLS-terminating proxy that passes it in the header named by http.clientCertificateHeader; give it with --cert (or --cert-thumbprint)`
  }
  if (detail === 'the client certificate is not the one of cnf x5t#S256') {
    return `the token is bound to the certificate with thumbprint ${quoted(x5t)} (cnf x5t#S256), the client certificate's is ${quoted(certificate?.thumbprint)} (${certificate?.from ?? 'the request'}): the client presented another certificate than the one its token was issued to (RFC 8705 §3.1)`
  }
  if (detail.startsWith('cnf names no confirmation method')) {
    return `cnf holds ${Object.keys(cnf).join(', ') || 'nothing'}: tokenward checks jkt (DPoP) and x5t#S256 (mutual TLS); a token bound another way cannot be proven here`
  }
  return "the token's cnf claim is malformed (RFC 7800 §3): ask the issuer for a well-formed sender-constrained token"
}

/** `insufficient_user_authentication`: the token's `acr` and `auth_time` against the route's. */
export function stepUpHint(context: BindingHintContext): string {
  const detail = detailOf(context.error)
  const acrValues = context.error?.acrValues ?? []
  const maxAge = context.error?.maxAge
  const login = [
    ...(acrValues.length > 0 ? [`acr_values=${acrValues.join(' ')}`] : []),
    ...(maxAge === undefined ? [] : [`max_age=${maxAge}`]),
  ].join('&')
  const again = `the user must log in again, the client asking the authorization server for ${login} (RFC 9470 §4)`
  const acr = context.claims?.acr
  if (detail === 'the token has no acr') {
    return `the route requires acr ${acrValues.join(' or ')}, the token has no acr claim: ${again}, and the issuer must put acr in its access tokens`
  }
  if (detail.startsWith('acr ')) {
    return `the token's acr is ${quoted(acr)}, the route requires ${acrValues.map((value) => quoted(value)).join(' or ')}: ${again}`
  }
  if (detail === 'the token has no auth_time') {
    return `the route requires a login at most ${maxAge} seconds old and the token has no auth_time claim: the issuer must put auth_time in its access tokens`
  }
  const authTime = context.claims?.auth_time
  if (typeof authTime === 'number') {
    return `the user logged in at ${iso(authTime)}, ${Math.floor(context.now - authTime)} seconds before this check; the route accepts ${maxAge} seconds: ${again}`
  }
  return again
}
