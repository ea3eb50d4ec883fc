/**
 * Every failure tokenward reports is a {@link TokenwardError} with a stable `code`. The code
 * decides the HTTP status and the RFC 6750 `error`; the client-facing description comes from a
 * fixed table, filled only with sanitised values (never the token).
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

/** The RFC 6750 §3.1 error codes a challenge can carry. */
export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope'

interface CodeInfo {
  readonly status: number
  readonly error: BearerErrorCode | undefined
  readonly description: string
}

/** One row per code: HTTP status, RFC 6750 error and the default client-facing description. */
const CODES: Readonly<Record<TokenwardErrorCode, CodeInfo>> = {
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
}

/** Every code with its HTTP status and RFC 6750 error, for documentation and tests. */
export const ERROR_CODES: Readonly<
  Record<
    TokenwardErrorCode,
    { readonly status: number; readonly error: BearerErrorCode | undefined }
  >
> = CODES

/** Extra data an error may carry. Never put a token in here. */
export interface TokenwardErrorOptions {
  /** Client-facing detail appended to the table description (sanitised and shortened). */
  readonly detail?: string
  /** Scopes for the `scope` challenge attribute of `insufficient_scope`. */
  readonly scope?: readonly string[]
  /** Seconds until the failed upstream is tried again (503 `Retry-After`). */
  readonly retryAfterSeconds?: number
  /** The underlying error or data, for logs. Never sent to the client. */
  readonly cause?: unknown
}

const DESCRIPTION_CHARS = /[^\x20\x21\x23-\x5b\x5d-\x7e]/g
const SCOPE_TOKEN_CHARS = /[^\x21\x23-\x5b\x5d-\x7e]/g
const MAX_VALUE_LENGTH = 64

/**
 * A value from a token (an audience, an issuer) as it may appear in a description: in single
 * quotes, reduced to RFC 6750's quoted-string character set, cut to 64 characters.
 */
export function describeValue(value: unknown): string {
  // Only strings are quoted: a structure from a token could be arbitrarily deep.
  if (typeof value !== 'string') return Array.isArray(value) ? 'a list' : `a ${typeof value}`
  const clean = value.replace(DESCRIPTION_CHARS, ' ')
  return `'${clean.length > MAX_VALUE_LENGTH ? `${clean.slice(0, MAX_VALUE_LENGTH - 3)}...` : clean}'`
}

/** The one error class tokenward throws for requests; `code` is the stable contract. */
export class TokenwardError extends Error {
  /** Stable machine-readable code (see the README's table). */
  declare readonly code: TokenwardErrorCode
  /** HTTP status that answers this error. */
  declare readonly status: number
  /** RFC 6750 error code for the challenge, or undefined (no token, outage). */
  declare readonly error: BearerErrorCode | undefined
  /** Client-facing description: says what was expected and found, never the token. */
  declare readonly description: string
  /** Scopes named in an `insufficient_scope` challenge. */
  declare readonly scope: readonly string[] | undefined
  /** Seconds until the issuer is tried again; set on `upstream_unavailable`. */
  declare readonly retryAfterSeconds: number | undefined
  /** `realm` of the challenge; the validator that rejected the token sets its configured realm. */
  declare realm: string

  constructor(code: TokenwardErrorCode, options: TokenwardErrorOptions = {}) {
    // A rejected token is an answer, not a fault: it is built without the stack trace V8 would
    // capture in Error's constructor (ten times the cost of every check a cached token needs).
    // The object is still an instance of this class and of Error; an upstream failure keeps its
    // own stack in `cause`.
    return initError(Object.create(new.target.prototype) as TokenwardError, code, options)
    super() // never reached: TypeScript requires the call in a derived class
  }

  /** The `WWW-Authenticate` value (RFC 6750 §3), or undefined where none is sent (503, 500). */
  wwwAuthenticate(): string | undefined {
    if (this.status >= 500) return undefined
    let challenge = `Bearer realm="${quote(this.realm)}"`
    if (this.error === undefined) return challenge
    challenge += `, error="${this.error}", error_description="${this.description}"`
    if (this.scope !== undefined && this.scope.length > 0) {
      const scope = this.scope.map((s) => s.replace(SCOPE_TOKEN_CHARS, '')).filter(Boolean)
      challenge += `, scope="${scope.join(' ')}"`
    }
    return challenge
  }
}

Object.defineProperty(TokenwardError.prototype, 'name', {
  value: 'TokenwardError',
  writable: true,
  configurable: true,
})

/** Thrown by `createValidator` (only there) for a bad option; the message names the option path. */
export class ConfigurationError extends TokenwardError {
  /** The option path, e.g. `audience.trusted`. */
  readonly option: string

  constructor(option: string, problem: string) {
    super('invalid_config')
    this.name = 'ConfigurationError'
    this.option = option
    this.message = `tokenward: option "${option}" ${problem}`
    // A misconfiguration is a fault of the code that created the validator: point at it.
    Error.captureStackTrace(this, ConfigurationError)
  }
}

/** Fills a rejection's members, as a constructor would (message, stack and cause not enumerable). */
function initError(
  error: TokenwardError,
  code: TokenwardErrorCode,
  options: TokenwardErrorOptions,
): TokenwardError {
  const info = CODES[code]
  // The table's descriptions are clean already; only a detail needs sanitising.
  const description =
    options.detail === undefined
      ? info.description
      : `${info.description}: ${options.detail}`.replace(DESCRIPTION_CHARS, ' ')
  const target = error as { -readonly [K in keyof TokenwardError]: TokenwardError[K] }
  target.code = code
  target.status = info.status
  target.error = info.error
  target.description = description
  target.scope = options.scope
  target.retryAfterSeconds = options.retryAfterSeconds
  target.realm = 'api'
  Object.defineProperties(error, {
    message: { value: description, writable: true, configurable: true },
    stack: { value: `TokenwardError: ${description}`, writable: true, configurable: true },
  })
  if (options.cause !== undefined) {
    Object.defineProperty(error, 'cause', {
      value: options.cause,
      writable: true,
      configurable: true,
    })
  }
  return error
}

function quote(value: string): string {
  return value.replace(DESCRIPTION_CHARS, ' ')
}

/** Type guard that works across copies of the package (checks the shape, not the prototype). */
export function isTokenwardError(value: unknown): value is TokenwardError {
  return (
    value instanceof TokenwardError ||
    (value instanceof Error &&
      typeof (value as Partial<TokenwardError>).code === 'string' &&
      (value as Partial<TokenwardError>).code! in CODES &&
      typeof (value as Partial<TokenwardError>).wwwAuthenticate === 'function')
  )
}

/** Body of an error response: absent keys are left out. */
export interface ErrorBody {
  readonly error?: string
  readonly error_description?: string
  readonly code: string
}

/** A framework-neutral HTTP answer for an error. */
export interface HttpErrorResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: ErrorBody
}

/**
 * Turns any thrown value into the HTTP answer every adapter renders. A {@link TokenwardError}
 * answers with its status, challenge and JSON body; anything else is a bare 500 with no detail.
 */
export function toHttpResponse(error: unknown): HttpErrorResponse {
  const headers: Record<string, string> = {
    'cache-control': 'no-store',
    'content-type': 'application/json; charset=utf-8',
  }
  if (!isTokenwardError(error) || (error.status >= 500 && error.status !== 503)) {
    return { status: 500, headers, body: { code: 'internal_error' } }
  }
  const challenge = error.wwwAuthenticate()
  if (challenge !== undefined) headers['www-authenticate'] = challenge
  if (error.status === 503) headers['retry-after'] = String(error.retryAfterSeconds ?? 1)
  const body: ErrorBody =
    error.error === undefined
      ? { error_description: error.description, code: error.code }
      : { error: error.error, error_description: error.description, code: error.code }
  return { status: error.status, headers, body }
}
