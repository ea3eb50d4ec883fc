/**
 * The adapter kit: everything a framework adapter needs from the core besides the validator, so
 * that no adapter carries a rule of its own. An adapter reads the request's `Authorization`
 * values, calls {@link authenticateRequest}, attaches the result, and renders a failure with
 * {@link renderFailure}.
 */
import { isTokenwardError, toHttpResponse, type HttpErrorResponse } from './errors.js'
import type { AuthResult, Requirements, ValidatorOptions } from './types.js'
import { createValidator, type Validator } from './validator.js'

/** Restricts role guards to roles granted in one organisation. */
export interface RoleOptions {
  readonly org?: string
}

/** The validator an adapter was given, or one created from options (which checks them now). */
export function resolveValidator(optionsOrValidator: ValidatorOptions | Validator): Validator {
  return adapterValidator(optionsOrValidator).validator
}

/** {@link resolveValidator}, saying whether the adapter created it (and so must close it). */
export function adapterValidator(optionsOrValidator: ValidatorOptions | Validator): {
  readonly validator: Validator
  readonly created: boolean
} {
  const given = typeof (optionsOrValidator as Partial<Validator>).authenticate === 'function'
  return given
    ? { validator: optionsOrValidator as Validator, created: false }
    : { validator: createValidator(optionsOrValidator as ValidatorOptions), created: true }
}

/**
 * Authenticates one request: `accepted(result)` (or `accepted(undefined)` for a request without
 * a token when `optional`), else `rejected(error)` with the error to render or pass on. Both are
 * called synchronously when nothing had to be fetched, so a cached token costs no promise; the
 * return value is theirs, or a promise of it. `accepted` runs outside any `try`: what the
 * application does next is not the adapter's to catch.
 */
export function authenticateRequest<R>(
  validator: Validator,
  authorization: string | readonly string[] | undefined,
  optional: boolean,
  accepted: (auth: AuthResult | undefined) => R,
  rejected: (error: unknown) => R,
): R | Promise<R> {
  let auth: AuthResult | Promise<AuthResult>
  try {
    auth = validator.authenticateNow(authorization)
  } catch (error) {
    return refused(error, optional, accepted, rejected)
  }
  if (auth instanceof Promise) {
    return auth.then(accepted, (error: unknown) => refused(error, optional, accepted, rejected))
  }
  return accepted(auth)
}

/** Without a token, an optional route goes on unauthenticated; every other failure is rejected. */
function refused<R>(
  error: unknown,
  optional: boolean,
  accepted: (auth: AuthResult | undefined) => R,
  rejected: (error: unknown) => R,
): R {
  return optional && isTokenwardError(error) && error.code === 'missing_token'
    ? accepted(undefined)
    : rejected(error)
}

/**
 * The HTTP answer to a failure: a `TokenwardError` answers with its status, challenge and body;
 * anything else (a bug, a throwing callback) is reported through the validator's logger and
 * answered with a bare 500.
 */
export function renderFailure(validator: Validator, error: unknown): HttpErrorResponse {
  if (!isTokenwardError(error)) validator.reportUnexpected?.(error)
  return toHttpResponse(error)
}

/**
 * Closes a validator the adapter created once the Node server that used it closes (`server` is
 * `req.socket.server`; runtimes without one leave the validator to be collected).
 */
export function closeWithServer(validator: Validator, server: unknown): void {
  const closable = server as { once?: (event: 'close', listener: () => void) => unknown } | null
  if (typeof closable?.once !== 'function' || watched.has(validator)) return
  watched.add(validator)
  closable.once('close', () => void validator.close())
}

/** Validators whose server is already watched (one listener per validator). */
const watched = new WeakSet<Validator>()

/**
 * The requirements of a role guard's arguments: every role named, and with a trailing
 * `{ org }` only where granted in that organisation (`requireRoles('a', 'b', { org })`).
 */
export function roleRequirements(args: readonly (string | RoleOptions)[]): Requirements {
  const last = args.at(-1)
  if (typeof last !== 'object') return { roles: args as string[] }
  const roles = args.slice(0, -1) as string[]
  return { roles: last.org === undefined ? roles : { allOf: roles, org: last.org } }
}
