/**
 * The error table: each stable code with its HTTP status, the RFC 6750 (or RFC 9449, RFC 9470)
 * `error` its challenge carries, and the fixed client-facing description.
 */

/** Stable error codes. Match on these, not on messages. */
export type TokenwardErrorCode =
  | 'missing_token'
  | 'invalid_request'
  | 'malformed_token'
  | 'alg_not_allowed'
  | 'unknown_key'
  | 'invalid_signature'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'invalid_issuer'
  | 'invalid_audience'
  | 'untrusted_audience'
  | 'unauthorized_party'
  | 'invalid_token_type'
  | 'token_inactive'
  | 'insufficient_scope'
  | 'insufficient_role'
  | 'upstream_unavailable'
  | 'invalid_config'
  | 'invalid_dpop_proof'
  | 'invalid_token_binding'
  | 'insufficient_user_authentication'

/**
 * The `error` values a challenge can carry: RFC 6750 §3.1's, RFC 9449 §7.1's
 * `invalid_dpop_proof` and RFC 9470 §3's `insufficient_user_authentication`.
 */
export type BearerErrorCode =
  | 'invalid_request'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'invalid_dpop_proof'
  | 'insufficient_user_authentication'

/** The HTTP authentication schemes tokenward answers: RFC 6750's and RFC 9449's. */
export type AuthScheme = 'Bearer' | 'DPoP'

/**
 * The DPoP challenge (RFC 9449 §7.1) a resource server that accepts DPoP sends beside, or
 * instead of, the Bearer one.
 */
export interface DpopChallenge {
  /** The JWS algorithms accepted for proofs: the `algs` parameter. */
  readonly algs: readonly string[]
  /**
   * Whether Bearer is offered too (RFC 9449 §7.2: both challenges in one field). Default true;
   * false where only DPoP-bound tokens are accepted, so the DPoP challenge is the only one.
   */
  readonly bearer?: boolean
}

export interface CodeInfo {
  readonly status: number
  readonly error: BearerErrorCode | undefined
  readonly description: string
  /** The scheme whose challenge carries the error, when it is not the one the token came with. */
  readonly scheme?: AuthScheme
}

/** One row per code: HTTP status, RFC 6750 error and the default client-facing description. */
export const CODES: Readonly<Record<TokenwardErrorCode, CodeInfo>> = {
  missing_token: { status: 401, error: undefined, description: 'No bearer token' },
  invalid_request: { status: 400, error: 'invalid_request', description: 'Malformed request' },
  malformed_token: { status: 401, error: 'invalid_token', description: 'Malformed token' },
  alg_not_allowed: {
    status: 401,
    error: 'invalid_token',
    description: 'The token algorithm is not allowed',
  },
  unknown_key: {
    status: 401,
    error: 'invalid_token',
    description: 'The token signing key is not known',
  },
  invalid_signature: {
    status: 401,
    error: 'invalid_token',
    description: 'The token signature is invalid',
  },
  token_expired: { status: 401, error: 'invalid_token', description: 'The access token expired' },
  token_not_yet_valid: {
    status: 401,
    error: 'invalid_token',
    description: 'The access token is not valid yet',
  },
  invalid_issuer: {
    status: 401,
    error: 'invalid_token',
    description: 'The token issuer is not trusted',
  },
  invalid_audience: {
    status: 401,
    error: 'invalid_token',
    description: 'The token is not meant for this API',
  },
  untrusted_audience: {
    status: 401,
    error: 'invalid_token',
    description: 'The token has an untrusted audience',
  },
  unauthorized_party: {
    status: 401,
    error: 'invalid_token',
    description: 'The client is not authorized',
  },
  invalid_token_type: {
    status: 401,
    error: 'invalid_token',
    description: 'The token is not an access token',
  },
  token_inactive: { status: 401, error: 'invalid_token', description: 'The token is not active' },
  insufficient_scope: {
    status: 403,
    error: 'insufficient_scope',
    description: 'The token lacks a required scope',
  },
  insufficient_role: {
    status: 403,
    error: 'insufficient_scope',
    description: 'The token lacks a required role',
  },
  upstream_unavailable: {
    status: 503,
    error: undefined,
    description: 'The token issuer is unavailable',
  },
  invalid_config: { status: 500, error: undefined, description: 'Invalid configuration' },
  invalid_dpop_proof: {
    status: 401,
    error: 'invalid_dpop_proof',
    description: 'The DPoP proof is invalid',
    scheme: 'DPoP',
  },
  invalid_token_binding: {
    status: 401,
    error: 'invalid_token',
    description: 'The token is bound to a key or certificate this request does not prove',
  },
  insufficient_user_authentication: {
    status: 401,
    error: 'insufficient_user_authentication',
    description: 'A different authentication level is required',
  },
}

/** Every code with its HTTP status and RFC 6750 error, for documentation and tests. */
export const ERROR_CODES: Readonly<
  Record<
    TokenwardErrorCode,
    { readonly status: number; readonly error: BearerErrorCode | undefined }
  >
> = CODES
