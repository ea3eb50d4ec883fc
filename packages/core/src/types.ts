/**
 * What a request brings and what the validator answers: claims, requirements, the request
 * context binding needs, the result, and what it reports to operators.
 */
import type { TokenwardErrorCode } from './errors.js'

/** JWS algorithms tokenward can verify: asymmetric only. */
export type JwsAlgorithm =
  'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA'

/** Decoded claims of a JWT, or the members of an introspection answer. */
export type Claims = Readonly<Record<string, unknown>>

/** Roles granted to the caller: role name → organisation ids where it is granted (may be empty). */
export type RoleMap = Readonly<Record<string, readonly string[]>>

/** Logger for operators. It is never given a token. */
export interface Logger {
  warn(message: string, meta?: Record<string, unknown>): void
  error(message: string, meta?: Record<string, unknown>): void
  /** The `debug` option's lines, when the logger has this method; otherwise they go to stderr. */
  debug?(message: string, meta?: Record<string, unknown>): void
}

/** Events for metrics. */
export type TokenwardEvent =
  | {
      /** A token was accepted; `cached`: from the verdict or introspection caches. */
      readonly type: 'authenticated'
      readonly source: 'jwt' | 'introspection'
      readonly cached: boolean
      readonly issuer: string
      /** `sub ?? client_id`: personal data, for hooks that are allowed to record it. */
      readonly subject: string | undefined
      /** From the start of the validation to its answer. */
      readonly durationMs: number
    }
  | {
      readonly type: 'rejected'
      readonly code: TokenwardErrorCode
      /** From the start of the validation to its answer; absent for a guard's decision. */
      readonly durationMs?: number
    }
  | {
      readonly type: 'cache_hit' | 'cache_miss'
      readonly cache: 'token' | 'introspection'
    }
  | {
      /** An outage, or the issuer refusing this server's configuration: answered 503. */
      readonly type: 'upstream_failed'
      readonly target: 'discovery' | 'jwks' | 'introspection'
      readonly url: string
      readonly error: unknown
    }
  | {
      /** The introspection endpoint refused one token with a 4xx: a 401 for that request only. */
      readonly type: 'token_refused_upstream'
      readonly url: string
      readonly status: number
    }
  | {
      /** A shared-store entry was ignored (bad shape, no valid MAC): introspected directly. */
      readonly type: 'store_entry_rejected'
      readonly reason: string
    }
  | { readonly type: 'stale_keys_used'; readonly url: string }
  | {
      /** One request to the issuer and how long it took; `status` undefined: no answer came. */
      readonly type: 'upstream_request'
      readonly target: 'discovery' | 'jwks' | 'introspection'
      readonly url: string
      readonly status: number | undefined
      readonly durationMs: number
    }
  | {
      /** A key set was fetched from the issuer's JWKS. */ readonly type: 'keys_refreshed'
      readonly url: string
    }

/** What a route requires of a token. A plain array means all of them. */
export interface Requirements {
  readonly roles?:
    | readonly string[]
    | {
        readonly anyOf?: readonly string[]
        readonly allOf?: readonly string[]
        /** Roles count only where granted in this organisation. */
        readonly org?: string
      }
  readonly scopes?: readonly string[]
  /**
   * Authentication context classes accepted (any of them) in the token's `acr` (RFC 9470 §3);
   * in order of preference, as the `acr_values` of the step-up challenge.
   */
  readonly acr?: readonly string[]
  /** The longest time since the user authenticated (`auth_time`), seconds (RFC 9470 §3). */
  readonly maxAge?: number
}

/**
 * A client certificate as a TLS stack or a proxy hands it over: DER bytes, PEM text, an object
 * with the DER in `raw` (Node's `X509Certificate`, `tls.PeerCertificate`), or only its SHA-256
 * thumbprint as unpadded base64url (RFC 8705 §3.1), for a proxy that forwards just that.
 */
export type ClientCertificate =
  Uint8Array | string | { readonly raw: Uint8Array } | { readonly thumbprint: string }

/** What the request carries besides the token: what DPoP and mTLS binding need. */
export interface RequestContext {
  /** The HTTP method, as sent (case-sensitive, RFC 9110 §9.1). */
  readonly method: string
  /** The absolute URL the client used (scheme, host, port, path; the query is ignored). */
  readonly url: string
  /** The request headers, names in lower case (the `dpop` header is read). */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>
  /** The client certificate of the TLS connection (RFC 8705), when there is one. */
  readonly clientCertificate?: ClientCertificate
}

/** A validated token. */
export interface AuthResult {
  /** The raw token (not enumerable, so logging the result does not print it). */
  readonly token: string
  readonly source: 'jwt' | 'introspection'
  readonly claims: Claims
  /** `sub ?? client_id`. */
  readonly subject: string | undefined
  /** `client_id ?? azp`. */
  readonly clientId: string | undefined
  readonly issuer: string
  readonly audience: readonly string[]
  readonly scopes: readonly string[]
  readonly roles: RoleMap
  readonly expiresAt?: Date
}

export type * from './option-types.js'
