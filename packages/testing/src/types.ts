/**
 * The public types of `@tokenward/testing`: the issuer's options, what `startIssuer` resolves
 * to, and the options of minting, rotation and outages.
 */

/** JWS algorithms the issuer can sign with (RFC 7518 §3.1; EdDSA with Ed25519, RFC 8037). */
export type SigningAlgorithm =
  'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA'

/** Which endpoints an outage takes down; `'all'` is every path the issuer serves. */
export type OutageKind = 'discovery' | 'jwks' | 'introspection' | 'all'

/**
 * How a down endpoint answers: `'status'` sends 503 with a JSON error; `'reset'` destroys the
 * connection without an answer (the client sees a network error, as with a crashed issuer).
 */
export type OutageMode = 'status' | 'reset'

/** Client credentials (RFC 6749 §2.3.1) the introspection endpoint accepts. */
export interface ClientCredentials {
  readonly clientId: string
  readonly clientSecret: string
}

/**
 * Claims of a minted token. Every claim is overridable; a key set to `undefined` removes that
 * claim from the token (a default included). Values are sent as given, so malformed values
 * (`exp: 'soon'`) can be minted on purpose.
 */
export interface TokenClaims {
  readonly iss?: string | undefined
  readonly sub?: string | undefined
  readonly aud?: string | readonly string[] | undefined
  /** Seconds since the epoch. Default: `iat` + `expiresInSeconds`. */
  readonly exp?: number | undefined
  readonly nbf?: number | undefined
  readonly iat?: number | undefined
  readonly jti?: string | undefined
  readonly client_id?: string | undefined
  readonly azp?: string | undefined
  /** Space-delimited scopes (RFC 9068 §2.2.3). No default. */
  readonly scope?: string | undefined
  readonly [claim: string]: unknown
}

/**
 * The JOSE header of a minted JWT. `alg` picks the signing key among the keys the issuer holds;
 * `kid` naming a held key (a current or a kept previous one) signs with that key, any other
 * `kid` is only written into the header. `undefined` removes `typ` or `kid`.
 */
export interface TokenHeader {
  readonly alg?: SigningAlgorithm | undefined
  readonly kid?: string | undefined
  /** Default `at+jwt` (RFC 9068 §2.1). */
  readonly typ?: string | undefined
  readonly [parameter: string]: unknown
}

/**
 * A token shape: claims, header and introspection members an issuer adds to its tokens, laid
 * over the defaults and under the claims of the call. `zitadel()` and `keycloak()` build the
 * shapes of those issuers; any object of this type is a shape.
 */
export interface TokenShape {
  /** For messages and debugging only. */
  readonly name: string
  /**
   * Claims of both JWT and opaque tokens (`undefined` removes a default), or a function that
   * returns them from the token's other claims (the defaults with the call's claims over them),
   * for claims derived from those: ZITADEL's `nbf` equals `iat`, Keycloak's
   * `preferred_username` is the `sub`.
   */
  readonly claims: TokenClaims | ((token: Readonly<Record<string, unknown>>) => TokenClaims)
  /** Header parameters of JWTs (`undefined` removes a default). */
  readonly header?: TokenHeader
  /** Members only an introspection answer carries (opaque tokens), e.g. `username`. */
  readonly introspection?: Readonly<Record<string, unknown>>
}

/** Options of {@link TestIssuer.mint}. */
export interface MintOptions {
  /** Lifetime: `exp` = `iat` + this. Default: the issuer's `expiresInSeconds` (300). */
  readonly expiresInSeconds?: number
  /** `iat` (and the base of `exp`). Default: the issuer's clock. */
  readonly issuedAt?: Date
  /** Header overrides, see {@link TokenHeader}. */
  readonly header?: TokenHeader
  /** An issuer's token shape, e.g. `zitadel({ projectId })`. */
  readonly shape?: TokenShape
  /**
   * Sign with a key of the same algorithm that the JWKS does not publish (the header keeps the
   * chosen key's `kid`): a forged token, which a resource server must reject. Default false.
   */
  readonly forged?: boolean
}

/** Options of {@link TestIssuer.mintOpaque}. */
export interface MintOpaqueOptions {
  /** Lifetime: `exp` = `iat` + this. Default: the issuer's `expiresInSeconds` (300). */
  readonly expiresInSeconds?: number
  /** `iat` (and the base of `exp`). Default: the issuer's clock. */
  readonly issuedAt?: Date
  /** An issuer's token shape, e.g. `zitadel({ projectId })`. */
  readonly shape?: TokenShape
}

/** Options of {@link TestIssuer.rotateKeys}. */
export interface RotateOptions {
  /**
   * Drop the previous keys from the JWKS: tokens they signed stop verifying. Default false:
   * they stay published after the new keys, as issuers keep keys during a rotation.
   */
  readonly dropPrevious?: boolean
}

/** The outcome of a key rotation. */
export interface Rotation {
  /** `kid` of the new signing key of the default algorithm. */
  readonly kid: string
  /** `kid`s the JWKS now publishes, new keys first. */
  readonly kids: readonly string[]
}

/** Requests received, by endpoint; counted also while the endpoint is down. */
export interface RequestCounts {
  /** `/.well-known/openid-configuration` and `/.well-known/oauth-authorization-server` (RFC 8414). */
  readonly discovery: number
  readonly jwks: number
  readonly introspection: number
  /** Any other path (answered 404). */
  readonly other: number
  /** Every request. */
  readonly total: number
}

/** Options of {@link startIssuer}. Every option has a default. */
export interface IssuerOptions {
  /**
   * Path of the issuer identifier, e.g. `/realms/test` for `http://127.0.0.1:<port>/realms/test`
   * (Keycloak's form). Starts with `/`, no trailing slash. Default: none (the origin).
   */
  readonly issuerPath?: string
  /**
   * Signing algorithm, or several (one key each; the first signs unless a mint picks another
   * with `header.alg`). Default `'RS256'`.
   */
  readonly algorithm?: SigningAlgorithm | readonly SigningAlgorithm[]
  /** How a down endpoint answers (see {@link OutageMode}). Default `'status'`. */
  readonly outageMode?: OutageMode
  /** Port on 127.0.0.1. Default 0: a free port. */
  readonly port?: number
  /** The introspection client. Default: client id `test-resource-server` and a random secret. */
  readonly client?: ClientCredentials
  /** Default `aud` of minted tokens. Default `'api'`. */
  readonly audience?: string | readonly string[]
  /** Default `sub`. Default `'test-user'`. */
  readonly subject?: string
  /** Default `client_id`. Default `'test-client'`. */
  readonly clientId?: string
  /** Default token lifetime in seconds. Default 300. */
  readonly expiresInSeconds?: number
  /** Milliseconds since the epoch, for `iat`/`exp` and introspection's expiry. Default `Date.now`. */
  readonly clock?: () => number
  /**
   * Members laid over the discovery document (`undefined` removes one), e.g. a wrong `issuer`
   * to see a resource server refuse it.
   */
  readonly metadata?: Readonly<Record<string, unknown>>
}

/** A running issuer, as `startIssuer` resolves it. */
export interface TestIssuer {
  /** The issuer identifier (`iss` of its tokens): `http://127.0.0.1:<port>` plus `issuerPath`. */
  readonly issuer: string
  /** `http://127.0.0.1:<port>` */
  readonly origin: string
  readonly port: number
  /** `{issuer}/.well-known/openid-configuration` */
  readonly discoveryUrl: string
  readonly jwksUri: string
  /** RFC 7662 endpoint; authenticate with {@link TestIssuer.client}. */
  readonly introspectionEndpoint: string
  /** The client the introspection endpoint accepts (client_secret_basic or client_secret_post). */
  readonly client: ClientCredentials
  /** `kid`s the JWKS publishes, current keys first. */
  readonly kids: readonly string[]
  /** Requests received so far (a snapshot). */
  readonly requests: RequestCounts
  /** Sets every counter back to 0. */
  resetRequests(): void
  /**
   * A signed JWT access token: defaults `iss`, `sub`, `aud`, `iat`, `exp`, `jti`, `client_id`
   * and header `typ: at+jwt`, `kid`, `alg`; then the shape's claims, then `claims`.
   */
  mint(claims?: TokenClaims, options?: MintOptions): Promise<string>
  /**
   * An opaque token (random, no dots) that only introspection can read: it answers `active:
   * true` with these claims (defaults as {@link TestIssuer.mint}, plus `token_type: Bearer`).
   */
  mintOpaque(claims?: TokenClaims, options?: MintOpaqueOptions): Promise<string>
  /**
   * Revokes a token this issuer minted (opaque or JWT): introspection answers `active: false`
   * from now on. A JWT still verifies locally. Returns false for a token it does not know.
   */
  revoke(token: string): boolean
  /** New signing keys (new `kid`s) for every algorithm; previous keys kept unless dropped. */
  rotateKeys(options?: RotateOptions): Promise<Rotation>
  /**
   * Takes endpoints down (`null`: everything up again). A new call replaces the previous
   * outage. `mode` overrides the issuer's `outageMode` for this outage.
   */
  setOutage(kind: OutageKind | readonly OutageKind[] | null, mode?: OutageMode): void
  /** Stops listening and closes every connection; the port is free when it resolves. Idempotent. */
  close(): Promise<void>
}
