/**
 * @tokenward/express: Express 4 and 5 middleware over `@tokenward/core`. It reads every
 * `Authorization` value, asks the core, sets `req.auth` and renders the core's errors; every
 * decision is the core's.
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
import type { NextFunction, Request, RequestHandler, Response } from 'express'

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express's own augmentation point
  namespace Express {
    interface Request {
      /**
       * The validated token, on every route behind `tokenward()`: the same `AuthResult` as
       * `ctx.state.auth` in Koa and `request.auth` in Fastify. Absent on a route the middleware
       * does not cover, and (with `optional: true`) on a request that sent no token.
       */
      auth: AuthResult
    }
  }
}

/** Options of the Express adapter (the validator's options are separate). */
export interface TokenwardExpressOptions {
  /**
   * Let a request without a bearer token through with `req.auth` undefined; a bad token is still
   * rejected, and the guards still answer `missing_token`. Default false.
   */
  readonly optional?: boolean
  /**
   * Call `next(error)` instead of answering, for your error handler (render it with the core's
   * `toHttpResponse(error)`). Default false: the adapter answers with the core's response.
   */
  readonly passErrors?: boolean
}

interface Settings {
  readonly validator: Validator
  readonly passErrors: boolean
}

// Symbol.for: the ESM and CJS builds of this package find each other's settings.
const SETTINGS = Symbol.for('@tokenward/express')
type Marked = Request & { [SETTINGS]?: Settings }

/**
 * Authenticates every request it sees: `app.use(tokenward({ issuer, audience }))`. Takes
 * validator options (a validator is created now, so a bad option throws here) or a validator.
 */
export function tokenward(
  optionsOrValidator: ValidatorOptions | Validator,
  options: TokenwardExpressOptions = {},
): RequestHandler {
  const { validator, created } = adapterValidator(optionsOrValidator)
  const optional = options.optional === true
  const settings: Settings = { validator, passErrors: options.passErrors === true }
  return function tokenward(req: Marked, res: Response, next: NextFunction): void {
    req[SETTINGS] = settings
    if (created) closeWithServer(validator, (req.socket as { server?: unknown }).server)
    void authenticateNodeRequest(validator, req, req.originalUrl, optional, {
      accepted: (auth) => {
        if (auth !== undefined) req.auth = auth
        next()
      },
      rejected: (error) => {
        fail(error, settings, res, next)
      },
      answer: ({ status, headers, body }) => {
        res.status(status).set(headers).json(body)
      },
    })
  }
}

/**
 * `requireRoles('admin')` (every role named; a trailing `{ org }` counts only roles granted in
 * that organisation), `requireScopes('read')` (a 403 names them in the challenge) and
 * `requireAcr('mfa')` (RFC 9470 step-up): shorthands for {@link requireAuth}.
 */
const guards: RouteGuards<RequestHandler> = routeGuards(requireAuth)
export const requireRoles: RouteGuards<RequestHandler>['requireRoles'] = guards.requireRoles
export const requireScopes: RouteGuards<RequestHandler>['requireScopes'] = guards.requireScopes
export const requireAcr: RouteGuards<RequestHandler>['requireAcr'] = guards.requireAcr

/** Requires what the core's `Requirements` say, e.g. `{ roles: { anyOf: ['admin', 'editor'] } }`. */
export function requireAuth(requirements: Requirements): RequestHandler {
  return function tokenwardGuard(req: Marked, res: Response, next: NextFunction): void {
    const settings = req[SETTINGS]
    if (settings === undefined) {
      next(new Error('tokenward: a route guard ran before the tokenward() middleware'))
      return
    }
    const { auth } = req
    try {
      settings.validator.authorize(auth, requirements)
    } catch (error) {
      fail(error, settings, res, next)
      return
    }
    next()
  }
}

function fail(error: unknown, settings: Settings, res: Response, next: NextFunction): void {
  if (settings.passErrors) {
    next(error)
    return
  }
  const { status, headers, body } = renderFailure(settings.validator, error)
  res.status(status).set(headers).json(body)
}
