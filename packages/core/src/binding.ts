/**
 * Whether the request may use the token: the sender constraint of its `cnf` claim (RFC 7800 §3),
 * DPoP (RFC 9449 §6, §7) or a client certificate (RFC 8705 §3), and the authentication the
 * route requires of the user behind it (RFC 9470 §3). The same rules serve JWT claims and
 * introspection answers (RFC 9449 §6.2, RFC 8705 §3.2, RFC 9470 §6): both carry `cnf`, `acr`
 * and `auth_time` as members of the same names.
 */
import { TokenwardError, describeValue, type AuthScheme, type DpopChallenge } from './errors.js'
import type { DpopProof } from './dpop.js'
import { runtime } from './runtime/index.js'
import type { Claims, ClientCertificate, DpopMode, Requirements } from './types.js'

/** How the token reached the API. */
export interface Presentation {
  /** The `Authorization` scheme the token came with. */
  readonly scheme: AuthScheme
  /** The request's DPoP proof, already checked (dpop.ts), if it had one. */
  readonly proof?: Pick<DpopProof, 'jkt'> | undefined
  /** The client certificate of the TLS connection, if there was one. */
  readonly clientCertificate?: ClientCertificate | undefined
}

/** The API's DPoP policy, as far as binding needs it. */
export interface BindingPolicy {
  readonly mode: DpopMode
  /** JWS algorithms accepted for proofs: the `algs` of the DPoP challenge (RFC 9449 §7.1). */
  readonly algorithms: readonly string[]
}

/** The DPoP challenge the policy offers (none where DPoP is disabled). */
export function dpopChallenge(policy: BindingPolicy): DpopChallenge | undefined {
  if (policy.mode === 'disabled') return undefined
  return { algs: policy.algorithms, bearer: policy.mode !== 'required' }
}

/**
 * Checks the token's sender constraint against what the request carries; throws
 * `invalid_token_binding` (401, error `invalid_token`) on the challenge of the scheme used.
 *
 * - `cnf.jkt` (RFC 9449 §6): the token must come with the DPoP scheme (§7.2: "MUST reject a
 *   DPoP-bound access token received as a bearer token", whatever the mode) and a proof whose
 *   key has that thumbprint (§4.3 check 12, §7.1).
 * - `cnf["x5t#S256"]` (RFC 8705 §3): the client certificate's SHA-256 thumbprint must equal it
 *   ("If they do not match, the resource access attempt MUST be rejected with an error ...
 *   using an HTTP 401 status code and the invalid_token error code").
 * - Both present: both are checked. A `cnf` with neither names a method this API cannot check:
 *   refused (fail closed).
 * - No `cnf.jkt`: the DPoP scheme is refused (the proof would bind nothing), and so is Bearer in
 *   `'required'` mode (RFC 9728 `dpop_bound_access_tokens_required`: DPoP-bound tokens only).
 */
export function checkBinding(claims: Claims, presented: Presentation, policy: BindingPolicy): void {
  const dpop = dpopChallenge(policy)
  const refuse = (detail: string): TokenwardError =>
    new TokenwardError('invalid_token_binding', {
      detail,
      scheme: presented.scheme,
      ...(dpop === undefined ? {} : { dpop }),
    })
  const cnf = claims.cnf
  if (cnf !== undefined && (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf))) {
    throw refuse('cnf is not an object')
  }
  const confirmation = cnf as Readonly<Record<string, unknown>> | undefined
  const jkt = confirmation?.jkt
  const x5t = confirmation?.['x5t#S256']
  if (confirmation !== undefined && jkt === undefined && x5t === undefined) {
    throw refuse('cnf names no confirmation method this API checks (jkt, x5t#S256)')
  }
  if (jkt !== undefined) {
    if (typeof jkt !== 'string' || jkt === '') throw refuse('cnf.jkt is not a thumbprint')
    if (presented.scheme !== 'DPoP') {
      throw refuse('the token is DPoP-bound: it must come with the DPoP scheme and a proof')
    }
    if (presented.proof === undefined) {
      throw new TokenwardError('invalid_dpop_proof', {
        detail: 'the request has no DPoP proof',
        dpop: dpop ?? { algs: policy.algorithms },
      })
    }
    if (presented.proof.jkt !== jkt) throw refuse('the DPoP proof key is not the one of cnf.jkt')
  } else if (presented.scheme === 'DPoP') {
    throw refuse('the token is not DPoP-bound (no cnf.jkt)')
  } else if (policy.mode === 'required') {
    throw refuse('only DPoP-bound tokens are accepted')
  }
  if (x5t !== undefined) {
    if (typeof x5t !== 'string' || x5t === '') throw refuse('cnf x5t#S256 is not a thumbprint')
    const thumbprint = certificateThumbprint(presented.clientCertificate)
    if (thumbprint === undefined) {
      throw refuse('the token is certificate-bound and the request has no client certificate')
    }
    if (thumbprint !== x5t) {
      throw refuse('the client certificate is not the one of cnf x5t#S256')
    }
  }
}

/** An unpadded base64url SHA-256 hash. */
const SHA256_BASE64URL = /^[A-Za-z0-9_-]{43}$/
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/

/**
 * RFC 8705 §3.1: base64url(SHA-256(DER of the certificate)), the `x5t#S256` of a token bound to
 * it. Takes DER bytes, PEM text (the first certificate of a chain), or an object holding the DER
 * in `raw` (Node's `X509Certificate`, `tls.PeerCertificate`), or the thumbprint itself in
 * `thumbprint` (43 base64url characters, the length of a SHA-256 hash). Undefined when there is
 * no certificate (Node's `getPeerCertificate()` answers `{}` then).
 */
export function certificateThumbprint(
  certificate: ClientCertificate | null | undefined,
): string | undefined {
  let der: Uint8Array | undefined
  if (typeof certificate === 'string') {
    const body = PEM_CERTIFICATE.exec(certificate)?.[1]?.replace(/\s+/g, '')
    der = body === undefined ? undefined : runtime.decodeBase64(body)
  } else if (certificate instanceof Uint8Array) {
    der = certificate
  } else if (typeof certificate === 'object' && certificate !== null) {
    const { raw, thumbprint } = certificate as { raw?: unknown; thumbprint?: unknown }
    if (typeof thumbprint === 'string')
      return SHA256_BASE64URL.test(thumbprint) ? thumbprint : undefined
    der = raw instanceof Uint8Array ? raw : undefined
  }
  return der === undefined || der.length === 0 ? undefined : runtime.sha256(der)
}

/** When the check runs, and the leeway for `auth_time`. */
export interface AuthenticationCheck {
  /** Unix seconds. */
  readonly now: number
  /** Leeway for the age of `auth_time`, seconds. Default 0. */
  readonly clockToleranceSeconds?: number
}

/**
 * RFC 9470 §3, step-up: the route's `acr` (any of) and `maxAge` (seconds since `auth_time`).
 * Throws `insufficient_user_authentication` (401) whose challenge carries every parameter the
 * route requires (`acr_values` in the route's order of preference, `max_age`), so the client
 * asks for a token that satisfies them all. A claim a requirement needs and the token lacks is a
 * failure.
 */
export function checkAuthentication(
  claims: Claims,
  requirements: Pick<Requirements, 'acr' | 'maxAge'>,
  check: AuthenticationCheck,
): void {
  const { acr, maxAge } = requirements
  const wantsAcr = acr !== undefined && acr.length > 0
  if (!wantsAcr && maxAge === undefined) return
  const refuse = (detail: string): TokenwardError =>
    new TokenwardError('insufficient_user_authentication', {
      detail,
      ...(wantsAcr ? { acrValues: acr } : {}),
      ...(maxAge === undefined ? {} : { maxAge }),
    })
  if (wantsAcr && !(typeof claims.acr === 'string' && acr.includes(claims.acr))) {
    throw refuse(
      claims.acr === undefined
        ? 'the token has no acr'
        : `acr ${describeValue(claims.acr)} is not one of the accepted values`,
    )
  }
  if (maxAge === undefined) return
  const authTime = claims.auth_time
  if (typeof authTime !== 'number' || !Number.isFinite(authTime)) {
    throw refuse('the token has no auth_time')
  }
  const age = check.now - authTime
  if (age > maxAge + (check.clockToleranceSeconds ?? 0)) {
    throw refuse(`the user authenticated ${Math.floor(age)} seconds ago, more than ${maxAge}`)
  }
}
