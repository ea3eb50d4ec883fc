/**
 * Every failure tokenward reports is a {@link TokenwardError} with a stable `code`. The code
 * decides the HTTP status and the RFC 6750 `error`; the client-facing description comes from a
 * fixed table, filled only with sanitised values (never the token).
 */

import {
  CODES,
  type AuthScheme,
  type BearerErrorCode,
  type DpopChallenge,
  type TokenwardErrorCode,
} from './error-codes.js'

export {
  ERROR_CODES,
  type AuthScheme,
  type BearerErrorCode,
  type DpopChallenge,
  type TokenwardErrorCode,
} from './error-codes.js'

/** Extra data an error may carry. Never put a token in here. */
export interface TokenwardErrorOptions {
  /** Client-facing detail appended to the table description (sanitised and shortened). */
  readonly detail?: string
  /** Scopes for the `scope` challenge attribute of `insufficient_scope`. */
  readonly scope?: readonly string[]
  /** Seconds until the failed upstream is tried again (503 `Retry-After`). */
  readonly retryAfterSeconds?: number
  /** The scheme the token came with (its challenge carries the error). Default: the code's. */
  readonly scheme?: AuthScheme
  /** The DPoP challenge to send beside (or instead of) Bearer. Default: none. */
  readonly dpop?: DpopChallenge
  /** `acr_values` of an `insufficient_user_authentication` challenge (RFC 9470 §3), in preference order. */
  readonly acrValues?: readonly string[]
  /** `max_age` of an `insufficient_user_authentication` challenge (RFC 9470 §3), seconds. */
  readonly maxAge?: number
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
  /** `acr_values` of an `insufficient_user_authentication` challenge (RFC 9470 §3). */
  declare readonly acrValues: readonly string[] | undefined
  /** `max_age` of an `insufficient_user_authentication` challenge (RFC 9470 §3), seconds. */
  declare readonly maxAge: number | undefined
  /** `realm` of the challenge; the validator that rejected the token sets its configured realm. */
  declare realm: string
  /**
   * The scheme the token came with, whose challenge carries the error (RFC 9449 §7.2: "the
   * corresponding challenge SHOULD be used to deliver error information"). `undefined` when it
   * cannot be told (two credentials): then every challenge carries it, as in RFC 9449 Figure 19.
   * The validator sets it to the request's scheme.
   */
  declare scheme: AuthScheme | undefined
  /**
   * The DPoP challenge offered with this answer, or undefined where DPoP is not accepted (then
   * the challenge is Bearer's alone, as in the first version). The validator sets it from its
   * `dpop` option.
   */
  declare dpop: DpopChallenge | undefined
  /**
   * The URL of this API's protected resource metadata (RFC 9728 §5.1): a 401 challenge names it
   * (`resource_metadata`) so a client can find the authorization server. Set by the validator
   * from its `resource` option.
   */
  declare resourceMetadata: string | undefined

  constructor(code: TokenwardErrorCode, options: TokenwardErrorOptions = {}) {
    // A rejected token is an answer, not a fault: it is built without the stack trace V8 would
    // capture in Error's constructor (ten times the cost of every check a cached token needs).
    // The object is still an instance of this class and of Error; an upstream failure keeps its
    // own stack in `cause`.
    return initError(Object.create(new.target.prototype) as TokenwardError, code, options)
    super() // never reached: TypeScript requires the call in a derived class
  }

  /**
   * The `WWW-Authenticate` value (RFC 6750 §3), or undefined where none is sent (503, 500).
   *
   * Without {@link dpop} it is one Bearer challenge, as in the first version. With it, the field
   * holds the Bearer challenge and then the DPoP one (RFC 9449 §7.2, RFC 9110 §11.6.1), or the
   * DPoP one alone when Bearer is not offered. The error parameters go on the challenge of the
   * scheme the token came with ({@link scheme}), or on both when that is unknown (RFC 9449
   * §7.2's three rules, Figures 17 to 19); a request without credentials gets none (RFC 6750
   * §3.1). `realm` is on the first challenge; `algs` ends the DPoP one (RFC 9449 Figure 16).
   */
  wwwAuthenticate(): string | undefined {
    if (this.status >= 500) return undefined
    const realm =
      this.resourceMetadata === undefined || this.status !== 401
        ? `realm="${quote(this.realm)}"`
        : `realm="${quote(this.realm)}", resource_metadata="${quote(this.resourceMetadata)}"`
    const attributes = this.error === undefined ? NO_PARAMETERS : errorParameters(this)
    const dpop = this.dpop
    if (dpop === undefined) return challenge('Bearer', [realm, ...attributes])
    const algs = `algs="${tokens(dpop.algs)}"`
    if (dpop.bearer === false) return challenge('DPoP', [realm, ...attributes, algs])
    return `${challenge('Bearer', this.scheme === 'DPoP' ? [realm] : [realm, ...attributes])}, ${challenge(
      'DPoP',
      this.scheme === 'Bearer' ? [algs] : [...attributes, algs],
    )}`
  }
}

const NO_PARAMETERS: readonly string[] = []

/** `scheme param, param`: an RFC 9110 §11.3 challenge. */
function challenge(scheme: AuthScheme, parameters: readonly string[]): string {
  return parameters.length === 0 ? scheme : `${scheme} ${parameters.join(', ')}`
}

/**
 * The error parameters, in a fixed order: `error`, `error_description` (RFC 6750 §3), `scope`
 * (RFC 6750 §3), `acr_values` and `max_age` (RFC 9470 §3).
 */
function errorParameters(error: TokenwardError): string[] {
  const parameters = [`error="${error.error}"`, `error_description="${error.description}"`]
  if (error.scope !== undefined && error.scope.length > 0) {
    parameters.push(`scope="${tokens(error.scope)}"`)
  }
  if (error.acrValues !== undefined && error.acrValues.length > 0) {
    parameters.push(`acr_values="${tokens(error.acrValues)}"`)
  }
  if (error.maxAge !== undefined && Number.isFinite(error.maxAge)) {
    parameters.push(`max_age="${Math.max(0, Math.floor(error.maxAge))}"`)
  }
  return parameters
}

/** A space-separated list of RFC 6750 §3 scope-token-shaped values (empty ones left out). */
function tokens(values: readonly string[]): string {
  return values
    .map((value) => value.replace(SCOPE_TOKEN_CHARS, ''))
    .filter(Boolean)
    .join(' ')
}

Object.defineProperty(TokenwardError.prototype, 'name', {
  value: 'TokenwardError',
  writable: true,
  configurable: true,
})

// `message` and `stack` of a rejection are read from its description (it has no stack trace;
// see the constructor), so building one defines no property of its own; a value assigned to
// either becomes the error's own, as on any Error.
for (const [member, read] of [
  ['message', (error: TokenwardError) => error.description],
  ['stack', (error: TokenwardError) => `TokenwardError: ${error.description}`],
] as const) {
  Object.defineProperty(TokenwardError.prototype, member, {
    get(this: TokenwardError) {
      return read(this)
    },
    set(this: TokenwardError, value: unknown) {
      Object.defineProperty(this, member, { value, writable: true, configurable: true })
    },
    configurable: true,
  })
}

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

/**
 * Fills a rejection's members, as a constructor would (cause not enumerable). Every rejection
 * gets the same members in the same order, so all share one hidden class.
 */
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
  target.acrValues = options.acrValues
  target.maxAge = options.maxAge
  target.realm = 'api'
  target.scheme = options.scheme ?? info.scheme ?? 'Bearer'
  target.dpop = options.dpop
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
