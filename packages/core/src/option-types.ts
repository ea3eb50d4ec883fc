/** The options of `createValidator`, each with its default. */
import type { JWK } from 'jose'
import type { Claims, JwsAlgorithm, Logger, RoleMap, TokenwardEvent } from './types.js'

/**
 * `strict`: every `aud` value must be trusted (OIDC Core 3.1.3.7 rule 3).
 * `lenient`: one trusted value is enough (RFC 7519 §4.1.3).
 */
export type AudienceMode = 'strict' | 'lenient'

/** The audience policy. */
export interface AudienceOptions {
  /** Audience values this API trusts, or a predicate deciding one value. */
  readonly trusted: string | readonly string[] | ((aud: string) => boolean)
  /** Default `'lenient'`. */
  readonly mode?: AudienceMode
  /** Values that must all be present in `aud` (this API's own identifiers), in either mode. */
  readonly required?: readonly string[]
}

/** Where roles are read from. */
export type RolesOption =
  | 'zitadel'
  | 'keycloak'
  | 'scope'
  | {
      readonly preset: 'zitadel'
      /** This API's ZITADEL project id(s): only their role claims are read. */
      readonly projectId: string | readonly string[]
      /**
       * Also read the generic `urn:zitadel:iam:org:project:roles` claim of JWTs. It describes the
       * project of the client that asked for the token, which may not be this API's. Default false.
       */
      readonly trustGenericClaim?: boolean
    }
  | {
      readonly preset: 'keycloak'
      /** Read `resource_access[clientId].roles` unprefixed for these clients. */
      readonly clientId?: string | readonly string[]
    }
  | {
      /** An exact claim name (dots included), or a path into nested objects. */
      readonly claim: string | readonly string[]
    }
  | ((claims: Claims) => RoleMap | readonly string[])

/** Key set settings. */
export interface JwksOptions {
  /** A static key set: used instead of fetching (no discovery, no network). */
  readonly keys?: readonly JWK[]
  /** Minimum seconds between two fetches caused by an unknown `kid`. Default 30. */
  readonly cooldownSeconds?: number
  /** Seconds a fetched set is used before it is refreshed. Default 600. */
  readonly cacheMaxAgeSeconds?: number
  /** Seconds the last good set keeps validating known `kid`s while the JWKS is unreachable. Default 3600. */
  readonly staleIfErrorSeconds?: number
  /** Timeout of one JWKS request, ms. Default 5000. */
  readonly timeoutMs?: number
}

/** Client authentication toward the introspection endpoint. */
export type IntrospectionAuth =
  | {
      readonly method: 'client_secret_basic' | 'client_secret_post'
      readonly clientId: string
      readonly clientSecret: string
    }
  | {
      readonly method: 'private_key_jwt'
      /** A ZITADEL key file: its path, or the parsed JSON. */
      readonly keyFile: string | ZitadelKeyFile
    }

/** The JSON key file ZITADEL hands out for an application or a service account. */
export interface ZitadelKeyFile {
  readonly type: string
  readonly keyId: string
  /** PKCS#1 or PKCS#8 PEM. */
  readonly key: string
  readonly clientId?: string
  readonly userId?: string
  readonly appId?: string
}

/** A store for introspection answers, shared across instances (e.g. `@tokenward/redis`). */
export interface CacheStore {
  get(key: string): Promise<string | undefined>
  set(key: string, value: string, ttlSeconds: number): Promise<void>
  delete(key: string): Promise<void>
  close?(): Promise<void>
}

/** RFC 7662 token introspection. */
export interface IntrospectionOptions {
  /** Default: the issuer's discovered `introspection_endpoint`. */
  readonly endpoint?: string
  readonly auth: IntrospectionAuth
  /** `'opaque'` (default): only non-JWT tokens; `'always'`: JWTs too, after local checks. */
  readonly mode?: 'opaque' | 'always'
  /** Timeout of one introspection request, ms. Default 5000. */
  readonly timeoutMs?: number
  /** Accept active answers without `aud`. Default false. */
  readonly audienceOptional?: boolean
  readonly cache?: {
    /** Entries kept in memory. Default 10000. */
    readonly max?: number
    /** Longest life of a positive answer, seconds (never beyond the token's `exp`). Default 60. */
    readonly ttlSeconds?: number
    /** Life of an `active:false` answer, seconds. Default 10. */
    readonly negativeTtlSeconds?: number
    /** A shared store; the in-memory LRU stays in front of it. */
    readonly store?: CacheStore
    /**
     * A secret (at least 32 bytes, the same on every instance) for an HMAC-SHA-256 over each
     * shared-store entry; entries without a valid MAC are ignored. Without it, whoever can write
     * to the store can make every instance accept any token.
     */
    readonly signingKey?: string | Uint8Array
  }
}

/** Options of {@link createValidator}. Every option is checked when the validator is created. */
export interface ValidatorOptions {
  /**
   * The issuer (exact match on `iss`), or several; or a template with `{tenantid}` for one path
   * segment (`https://login.microsoftonline.com/{tenantid}/v2.0`), or a predicate on `iss`. A
   * template or a predicate counts as several issuers: each is discovered on first use.
   */
  readonly issuer: string | readonly string[] | ((iss: string) => boolean)
  /** Multi-tenant issuers (an `issuer` template): which tenants, and how many kept at once. */
  readonly tenants?: TenantOptions
  /** Audience policy; a string or list is lenient shorthand for `{ trusted }`. */
  readonly audience: string | readonly string[] | AudienceOptions
  /** Allow-list of clients (`client_id ?? azp`). */
  readonly authorizedParties?: readonly string[]
  /** JWKS URL; default from discovery. Single issuer only. */
  readonly jwksUri?: string
  /** Key set settings, or a static set. */
  readonly jwks?: JwksOptions
  /** Accepted JWS algorithms. Default: every asymmetric one. */
  readonly algorithms?: readonly JwsAlgorithm[]
  /** Accepted header `typ` values, case-insensitive, `application/` optional; `null` = absent. */
  readonly tokenTypes?: readonly (string | null)[]
  /** Leeway for `exp`, `nbf`, `iat`, seconds. Default 5. */
  readonly clockToleranceSeconds?: number
  /** Reject tokens whose `iat` is older than this, seconds. Default: no limit. */
  readonly maxTokenAgeSeconds?: number
  /** Longest token accepted, characters. Default 16384. */
  readonly maxTokenLength?: number
  /** `realm` of the `WWW-Authenticate` challenge. Default `'api'`. */
  readonly realm?: string
  /** Where roles come from. */
  readonly roles?: RolesOption
  /** Issuer-specific defaults, each overridable. */
  readonly profile?: 'zitadel'
  /** Timeout of a discovery request, ms. Default 5000. */
  readonly discoveryTimeoutMs?: number
  /** After an upstream failure, requests get 503 at once for this long, doubling to `maxSeconds`. */
  readonly upstreamBackoff?: { readonly minSeconds?: number; readonly maxSeconds?: number }
  /** Cache of verified JWTs and introspection results (and of forged signatures). `false` turns it off. */
  readonly tokenCache?:
    | false
    | {
        /** Default 10000. */ readonly max?: number
        /** Default 300; never beyond the token's `exp`. */ readonly ttlSeconds?: number
        /**
         * Bytes the cached results may hold, an entry counted 512 bytes plus 2 per character of
         * its token (what the token, its decoded claims and the result cost on the heap). Default
         * 64 MiB: the 10,000 entries of the default `max` for tokens up to about 3 KB, fewer for
         * larger ones (about 2,700 of 12 KB).
         */
        readonly maxBytes?: number
      }
  readonly introspection?: IntrospectionOptions
  /** DPoP (RFC 9449): whether proof-of-possession tokens are accepted, required or refused. */
  readonly dpop?: DpopOptions
  /**
   * This API as an OAuth protected resource: its resource identifier (RFC 8707) and the metadata
   * adapters serve at `/.well-known/oauth-protected-resource` (RFC 9728); every 401 challenge
   * then names that metadata (`resource_metadata`).
   */
  readonly resource?: ResourceOptions
  /** How adapters read the request URL and client certificate (DPoP `htu`, RFC 8705). */
  readonly http?: HttpOptions
  /**
   * Where operators hear of outages and misconfigurations: a console-style logger
   * `(message, meta)`, a pino or bunyan logger `(meta, message)`, or `false` for none. Default:
   * stderr. It is never given a token.
   */
  readonly logger?: Logger | false
  /**
   * One line per decision (status, code, source, milliseconds; never the token) for local work:
   * `true`, or a `DEBUG`-style list that names `tokenward`, e.g. `debug: process.env.DEBUG` and
   * `DEBUG=tokenward`. Written to the logger's `debug` method, or to stderr. Default: off.
   */
  readonly debug?: boolean | string | undefined
  readonly onEvent?: (event: TokenwardEvent) => void
  /** Custom fetch (proxies, private CAs, tests). Default: the global fetch. */
  readonly fetch?: typeof fetch
  /**
   * The current time, ms since the epoch (default `Date.now`): every check of a token's times
   * and every cache of verdicts and introspection answers use it, so tests can replay recorded
   * tokens. Network timing (timeouts, back-off, key-set refresh) keeps the real clock.
   */
  readonly clock?: () => number
}

/** The tenants of an issuer template. */
export interface TenantOptions {
  /** Tenant ids allowed, or a hook deciding one (`true` allows). Default: every tenant. */
  readonly allowed?: readonly string[] | ((tenantId: string) => boolean)
  /** Issuers (tenants) whose discovery and keys are kept at once; the least used go. Default 100. */
  readonly max?: number
}

/**
 * `'disabled'`: the `DPoP` scheme is not accepted (a DPoP-bound token is still refused as a
 * bearer token, RFC 9449 §7.2). `'allowed'`: Bearer and DPoP. `'required'`: DPoP-bound tokens
 * only.
 */
export type DpopMode = 'disabled' | 'allowed' | 'required'

/** DPoP (RFC 9449): proof-of-possession of a key the token is bound to. */
export interface DpopOptions {
  /** Default `'allowed'`. */
  readonly mode?: DpopMode
  /** JWS algorithms accepted for proofs (asymmetric only). Default: every asymmetric one. */
  readonly algorithms?: readonly JwsAlgorithm[]
  /** How old a proof (`iat`) may be, seconds. Default 300. */
  readonly iatWindowSeconds?: number
  /** How far in the future a proof's `iat` may be (the client's clock), seconds. Default 60. */
  readonly clockToleranceSeconds?: number
  /** Where used proofs (`jti`) are recorded; shared by every instance of an API. Default: in memory. */
  readonly replay?: ReplayStore
}

/**
 * Records used DPoP proofs (RFC 9449 §11.1). `claim` records `key` for `ttlSeconds` and says
 * whether it was new: it must be atomic (one caller wins among concurrent claims of one key),
 * e.g. Redis `SET key 1 NX EX ttl`.
 */
export interface ReplayStore {
  claim(key: string, ttlSeconds: number): Promise<boolean> | boolean
}

/** This API as an OAuth 2.0 protected resource. */
export interface ResourceOptions {
  /** The resource identifier (RFC 8707 §2, RFC 9728 §2): an https URL without fragment. */
  readonly id: string
  /**
   * More metadata members (RFC 9728 §2), e.g. `scopes_supported`, `resource_name`,
   * `resource_documentation`; they override the ones tokenward derives.
   */
  readonly metadata?: Readonly<Record<string, unknown>>
}

/** How the request's own URL and client certificate are found. */
export interface HttpOptions {
  /**
   * The URL clients use to reach this API (scheme, host, port, path prefix), e.g. behind a
   * proxy: request URLs are built on it. Default: from the request itself.
   */
  readonly baseUrl?: string
  /**
   * Read `X-Forwarded-Proto` and `X-Forwarded-Host` (set by a proxy you trust). Default false:
   * a client could otherwise choose the URL its DPoP proof is checked against.
   */
  readonly trustProxy?: boolean
  /**
   * A header in which a TLS-terminating proxy you trust passes the client certificate (PEM,
   * URL-encoded or not), e.g. `x-client-cert`. Default: the TLS connection's own certificate.
   */
  readonly clientCertificateHeader?: string
}
