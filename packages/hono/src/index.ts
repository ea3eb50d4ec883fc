/**
 * @tokenward/hono: Hono middleware over `@tokenward/core`, on every runtime Hono runs on (Node
 * through `@hono/node-server`, Bun, Deno, Cloudflare Workers). It reads every `Authorization`
 * value, asks the core, sets `c.var.auth` and renders the core's errors; every decision is the
 * core's.
 *
 * @packageDocumentation
 */
import {
  adapterValidator,
  authenticateRequest,
  authorizationValues,
  closeWithServer,
  failureResponse,
  fetchAuthorizationValues,
  fetchRequestContext,
  metadataResponse,
  routeGuards,
} from '@tokenward/core'
import type {
  AuthResult,
  Requirements,
  RouteGuards,
  Validator,
  ValidatorOptions,
} from '@tokenward/core'
import type { Context, MiddlewareHandler } from 'hono'

export type { RoleOptions } from '@tokenward/core'

/** What `tokenward()` sets: `c.var.auth` / `c.get('auth')`. */
export interface TokenwardVariables {
  auth: AuthResult
}

/** The env of an app behind `tokenward()`: `new Hono<TokenwardEnv>()` types `c.var.auth` as an AuthResult. */
export interface TokenwardEnv {
  Variables: TokenwardVariables
}

/** The env with `optional: true`: `c.var.auth` is undefined for a request without a token. */
export interface OptionalTokenwardEnv {
  Variables: Partial<TokenwardVariables>
}

/** Options of the Hono adapter (the validator's options are separate). */
export interface TokenwardHonoOptions {
  /**
   * Let a request without a bearer token through with `c.var.auth` undefined; a bad token is
   * still rejected, and the guards still answer `missing_token`. Default false.
   */
  readonly optional?: boolean
  /**
   * Throw the error to your `app.onError` handler instead of answering (render it with the core's
   * `toHttpResponse(error)`). Default false: the adapter answers with the core's response.
   */
  readonly passErrors?: boolean
}

interface Settings {
  readonly validator: Validator
  readonly passErrors: boolean
}

// Symbol.for: the ESM and CJS builds of this package find each other's settings.
const SETTINGS: unique symbol = Symbol.for('@tokenward/hono')
type Marked = Context<{ Variables: { [SETTINGS]?: Settings; auth?: AuthResult } }>

/** What `@hono/node-server` puts in `c.env`: the Node request, whose `rawHeaders` keep every line. */
interface NodeBindings {
  readonly incoming?: { readonly rawHeaders?: readonly string[]; readonly socket?: unknown }
}

/**
 * Authenticates every request it sees: `app.use(tokenward({ issuer, audience }))`. Takes
 * validator options (a validator is created now, so a bad option throws here) or a validator.
 */
export function tokenward(
  optionsOrValidator: ValidatorOptions | Validator,
  options?: TokenwardHonoOptions & { readonly optional?: false },
): MiddlewareHandler<TokenwardEnv>
export function tokenward(
  optionsOrValidator: ValidatorOptions | Validator,
  options: TokenwardHonoOptions,
): MiddlewareHandler<OptionalTokenwardEnv>
export function tokenward(
  optionsOrValidator: ValidatorOptions | Validator,
  options: TokenwardHonoOptions = {},
): MiddlewareHandler {
  const { validator, created } = adapterValidator(optionsOrValidator)
  const optional = options.optional === true
  const settings: Settings = { validator, passErrors: options.passErrors === true }
  return async function tokenward(c: Marked, next) {
    c.set(SETTINGS, settings)
    const node = (c.env as NodeBindings | undefined)?.incoming
    if (created && node !== undefined) {
      closeWithServer(validator, (node.socket as { server?: unknown } | undefined)?.server)
    }
    // On Node the raw lines are there; elsewhere Headers has joined repeated lines (see the core).
    const authorization =
      node?.rawHeaders === undefined
        ? fetchAuthorizationValues(c.req.raw.headers)
        : authorizationValues(node.rawHeaders)
    const metadata = metadataResponse(validator, c.req.method, c.req.path)
    if (metadata !== undefined) return c.json(metadata.body, 200, metadata.headers)
    return authenticateRequest<Promise<void> | Response>(
      validator,
      authorization,
      optional,
      (auth) => {
        if (auth !== undefined) c.set('auth', auth)
        return next()
      },
      (error) => fail(error, settings),
      () => fetchRequestContext(validator, c.req.raw),
    )
  }
}

/**
 * `requireRoles('admin')` (every role named; a trailing `{ org }` counts only roles granted in
 * that organisation), `requireScopes('read')` (a 403 names them in the challenge) and
 * `requireAcr('mfa')` (RFC 9470 step-up): shorthands for {@link requireAuth}.
 */
const guards: RouteGuards<MiddlewareHandler> = routeGuards(requireAuth)
export const requireRoles: RouteGuards<MiddlewareHandler>['requireRoles'] = guards.requireRoles
export const requireScopes: RouteGuards<MiddlewareHandler>['requireScopes'] = guards.requireScopes
export const requireAcr: RouteGuards<MiddlewareHandler>['requireAcr'] = guards.requireAcr

/** Requires what the core's `Requirements` say, e.g. `{ roles: { anyOf: ['admin', 'editor'] } }`. */
export function requireAuth(requirements: Requirements): MiddlewareHandler {
  return async function tokenwardGuard(c: Marked, next) {
    const settings = c.get(SETTINGS)
    if (settings === undefined) {
      throw new Error('tokenward: a route guard ran before the tokenward() middleware')
    }
    try {
      settings.validator.authorize(c.get('auth'), requirements)
    } catch (error) {
      return fail(error, settings)
    }
    await next()
    return undefined
  }
}

function fail(error: unknown, settings: Settings): Response {
  if (settings.passErrors) throw error
  return failureResponse(settings.validator, error)
}
