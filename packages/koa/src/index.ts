/**
 * @tokenward/koa: Koa 2 and 3 middleware over `@tokenward/core`. It reads every `Authorization`
 * value, asks the core, sets `ctx.state.auth` and renders the core's errors; every decision is
 * the core's.
 *
 * @packageDocumentation
 */
import {
  adapterValidator,
  authenticateNodeRequest,
  closeWithServer,
  renderFailure,
  routeGuards,
} from '@tokenward/core'
import type {
  AuthResult,
  Requirements,
  RouteGuards,
  Validator,
  ValidatorOptions,
} from '@tokenward/core'

export type { RoleOptions } from '@tokenward/core'
import type { Middleware, ParameterizedContext } from 'koa'

declare module 'koa' {
  interface DefaultState {
    /**
     * The validated token, on every route behind `tokenward()` (no generics to remember: any
     * `new Koa()` has it): the same `AuthResult` as `req.auth` in Express and `request.auth` in
     * Fastify. Absent on a route the middleware does not cover, and (with `optional: true`) on a
     * request without a token.
     */
    auth: AuthResult
  }
}

/** What `tokenward()` adds to `ctx.state`: the validated token under `auth` (or your `key`). */
export type TokenwardState<Key extends string = 'auth'> = { [K in Key]: AuthResult }

/** Options of the Koa adapter (the validator's options are separate). */
export interface TokenwardKoaOptions<Key extends string = 'auth'> {
  /** The `ctx.state` member that receives the {@link AuthResult}. Default `'auth'`. */
  readonly key?: Key
  /**
   * Let a request without a bearer token through with `ctx.state[key]` undefined; a bad token is
   * still rejected, and the guards still answer `missing_token`. Default false.
   */
  readonly optional?: boolean
  /**
   * Throw the error to your error-handling middleware instead of answering (render it with the
   * core's `toHttpResponse(error)`). Default false: the adapter answers with the core's response.
   */
  readonly passErrors?: boolean
}

interface Settings {
  readonly validator: Validator
  readonly key: string
  readonly passErrors: boolean
}

// Symbol.for: the ESM and CJS builds of this package find each other's settings.
const SETTINGS = Symbol.for('@tokenward/koa')
type State = Record<PropertyKey, unknown> & { [SETTINGS]?: Settings }
/** A guard fits any state, so it leaves what Koa or @koa/router infer for `ctx.state` alone. */
type Guard = Middleware<unknown>

/**
 * Authenticates every request it sees: `app.use(tokenward({ issuer, audience }))`. Takes
 * validator options (a validator is created now, so a bad option throws here) or a validator.
 */
export function tokenward<Key extends string = 'auth'>(
  optionsOrValidator: ValidatorOptions | Validator,
  options?: TokenwardKoaOptions<Key> & { readonly optional?: false },
): Middleware<TokenwardState<NoInfer<Key>>>
export function tokenward<Key extends string = 'auth'>(
  optionsOrValidator: ValidatorOptions | Validator,
  options: TokenwardKoaOptions<Key>,
): Middleware<Partial<TokenwardState<NoInfer<Key>>>>
export function tokenward(
  optionsOrValidator: ValidatorOptions | Validator,
  options: TokenwardKoaOptions<string> = {},
): Middleware {
  const { validator, created } = adapterValidator(optionsOrValidator)
  const optional = options.optional === true
  const settings: Settings = {
    validator,
    key: options.key ?? 'auth',
    passErrors: options.passErrors === true,
  }
  // Not async: a cached token is answered synchronously, and next()'s promise is returned as is.
  return function tokenward(ctx, next) {
    const state = ctx.state as unknown as State
    state[SETTINGS] = settings
    if (created) closeWithServer(validator, (ctx.req.socket as { server?: unknown }).server)
    return authenticateNodeRequest<Promise<void> | undefined>(
      validator,
      ctx.req,
      ctx.originalUrl,
      optional,
      {
        accepted: (auth) => {
          if (auth !== undefined) state[settings.key] = auth
          return next()
        },
        rejected: (error) => {
          fail(ctx, error, settings)
          return undefined
        },
        answer: ({ status, headers, body }) => {
          ctx.status = status
          ctx.set(headers)
          ctx.body = body
          return undefined
        },
      },
    )
  }
}

/**
 * `requireRoles('admin')` (every role named; a trailing `{ org }` counts only roles granted in
 * that organisation), `requireScopes('read')` (a 403 names them in the challenge) and
 * `requireAcr('mfa')` (RFC 9470 step-up): shorthands for {@link requireAuth}.
 */
const guards: RouteGuards<Guard> = routeGuards(requireAuth)
export const requireRoles: RouteGuards<Guard>['requireRoles'] = guards.requireRoles
export const requireScopes: RouteGuards<Guard>['requireScopes'] = guards.requireScopes
export const requireAcr: RouteGuards<Guard>['requireAcr'] = guards.requireAcr

/** Requires what the core's `Requirements` say, e.g. `{ roles: { anyOf: ['admin', 'editor'] } }`. */
export function requireAuth(requirements: Requirements): Guard {
  return async function tokenwardGuard(ctx, next) {
    const state = ctx.state as State
    const settings = state[SETTINGS]
    if (settings === undefined) {
      throw new Error('tokenward: a route guard ran before the tokenward() middleware')
    }
    const auth = state[settings.key] as AuthResult | undefined
    try {
      settings.validator.authorize(auth, requirements)
    } catch (error) {
      fail(ctx, error, settings)
      return
    }
    await next()
  }
}

function fail(ctx: ParameterizedContext<unknown>, error: unknown, settings: Settings): void {
  if (settings.passErrors) throw error
  const { status, headers, body } = renderFailure(settings.validator, error)
  ctx.status = status
  ctx.set(headers)
  ctx.body = body
}
