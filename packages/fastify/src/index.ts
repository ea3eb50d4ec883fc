/**
 * @tokenward/fastify: a Fastify 5 plugin over `@tokenward/core`. It reads every `Authorization`
 * value, asks the core, sets `request.auth` and renders the core's errors; every decision is
 * the core's.
 *
 * @packageDocumentation
 */
import {
  adapterValidator,
  authenticateNodeRequest,
  renderFailure,
  routeGuards,
} from '@tokenward/core'
import type {
  AuthResult,
  Requirements,
  RoleOptions,
  Validator,
  ValidatorOptions,
} from '@tokenward/core'
import type { FastifyPluginCallback, FastifyReply, preHandlerAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'

export type { RoleOptions } from '@tokenward/core'

/** `fastify.requireRoles('admin')`, `fastify.requireRoles('admin', 'billing', { org })`. */
export interface RequireRoles {
  (...roles: string[]): preHandlerAsyncHookHandler
  (...args: [...roles: string[], options: RoleOptions]): preHandlerAsyncHookHandler
}

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The validated token, on every route the plugin authenticates: the same `AuthResult` as
     * `req.auth` in Express and `ctx.state.auth` in Koa. Null on a route left unauthenticated
     * (`config: { tokenward: false }`), and (with `optional: true`) on a request without a token.
     */
    auth: AuthResult
  }
  interface FastifyInstance {
    /** preHandler requiring every role named; a trailing `{ org }` restricts to that organisation. */
    requireRoles: RequireRoles
    /** preHandler requiring every scope named; a 403 names them in the challenge. */
    requireScopes(...scopes: string[]): preHandlerAsyncHookHandler
    /** preHandler requiring a login with one of these `acr` values (RFC 9470 step-up). */
    requireAcr(...acr: string[]): preHandlerAsyncHookHandler
    /** preHandler requiring the core's `Requirements`, e.g. `{ roles: { anyOf: ['a', 'b'] } }`. */
    requireAuth(requirements: Requirements): preHandlerAsyncHookHandler
  }
  interface FastifyContextConfig {
    /** Authenticate this route (`true`) or leave it alone (`false`); default: the plugin's `global`. */
    tokenward?: boolean
  }
}

/** Options of the plugin besides the validator's. */
export interface TokenwardFastifyOptions {
  /** Authenticate every route (default true); with false, only routes with `config: { tokenward: true }`. */
  readonly global?: boolean
  /**
   * Let a request without a bearer token through with `request.auth` null; a bad token is still
   * rejected, and the guards still answer `missing_token`. Default false.
   */
  readonly optional?: boolean
  /**
   * Throw the error to Fastify's error handler instead of answering (render it there with the
   * core's `toHttpResponse(error)`). Default false: the plugin answers with the core's response.
   */
  readonly passErrors?: boolean
}

/** Validator options, or `{ validator }` for a validator you made; plus the plugin's options. */
export type TokenwardPluginOptions = (ValidatorOptions | { readonly validator: Validator }) &
  TokenwardFastifyOptions

const tokenwardPlugin: FastifyPluginCallback<TokenwardPluginOptions> = (fastify, options, done) => {
  const { global = true, optional = false, passErrors = false, ...rest } = options
  let validator: Validator
  try {
    // A validator made here logs through Fastify's own logger unless told otherwise.
    const resolved = adapterValidator(
      'validator' in rest ? rest.validator : { logger: fastify.log, ...withoutFastify(rest) },
    )
    validator = resolved.validator
    if (resolved.created) fastify.addHook('onClose', () => validator.close())
  } catch (error) {
    done(error as Error) // a ConfigurationError fails the registration
    return
  }

  function render(error: unknown, reply: FastifyReply): FastifyReply {
    const { status, headers, body } = renderFailure(validator, error)
    return reply.code(status).headers(headers).send(body)
  }

  function requireAuth(requirements: Requirements): preHandlerAsyncHookHandler {
    return async function tokenwardGuard(request, reply) {
      try {
        validator.authorize(request.auth, requirements)
      } catch (error) {
        if (passErrors) throw error
        return render(error, reply)
      }
    }
  }

  // Null until the hook sets it (a known shape for every request, as Fastify recommends).
  fastify.decorateRequest('auth', null as unknown as AuthResult)
  fastify.decorate('requireAuth', requireAuth)
  const guards = routeGuards(requireAuth)
  fastify.decorate('requireScopes', guards.requireScopes)
  fastify.decorate('requireAcr', guards.requireAcr)
  fastify.decorate('requireRoles', guards.requireRoles)

  fastify.addHook('onRequest', function tokenward(request, reply, next) {
    if (!(request.routeOptions.config.tokenward ?? global)) {
      next()
      return
    }
    void authenticateNodeRequest(validator, request.raw, request.url, optional, {
      accepted: (auth) => {
        request.auth = auth ?? (null as unknown as AuthResult)
        next()
      },
      rejected: (error) => {
        if (passErrors) next(error as Error)
        else render(error, reply)
      },
      answer: ({ status, headers, body }) => {
        void reply.code(status).headers(headers).send(body)
      },
    })
  })
  done()
}

/** Fastify hands its own register options to the plugin too; they are not the validator's. */
function withoutFastify(options: object): ValidatorOptions {
  const register = ['prefix', 'logLevel', 'logSerializers']
  const entries = Object.entries(options).filter(([key]) => !register.includes(key))
  return Object.fromEntries(entries) as unknown as ValidatorOptions
}

/**
 * `fastify.register(tokenward, { issuer, audience })`: authenticates every route in `onRequest`
 * (see `global`), sets `request.auth` and decorates `requireRoles`, `requireScopes` and
 * `requireAuth`. A bad option fails the registration.
 */
const tokenward = fp(tokenwardPlugin, { fastify: '5.x', name: '@tokenward/fastify' })

export default tokenward
export { tokenward }
