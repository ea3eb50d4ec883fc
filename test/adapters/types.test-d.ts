// Type tests of the three adapters: only type-checked (the root `tsc -p tsconfig.json` covers
// test/), never run. A line marked @ts-expect-error must not compile.
import type { AuthResult, Validator } from '@tokenward/core'
import * as forExpress from '@tokenward/express'
import tokenwardPlugin, { tokenward as namedPlugin } from '@tokenward/fastify'
import * as forHono from '@tokenward/hono'
import * as forKoa from '@tokenward/koa'
import * as forNest from '@tokenward/nestjs'
import { express } from '../../packages/express/test/frameworks.js'
import { fastify, type FastifyRequest } from '../../packages/fastify/test/frameworks.js'
import { Hono } from '../../packages/hono/test/frameworks.js'
import { Koa, Router } from '../../packages/koa/test/frameworks.js'

// Type-level assertions: their type parameters exist only to be checked.
/* eslint-disable @typescript-eslint/no-unnecessary-type-parameters */
type Equals<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false

/** Compiles only when its type argument is `true`. */
function expectTrue<T extends true>(): T | undefined {
  return undefined
}
/* eslint-enable @typescript-eslint/no-unnecessary-type-parameters */

declare const validator: Validator
const options = { issuer: 'https://issuer.example', audience: 'api' }

// The helper itself: a wrong claim does not compile.
// @ts-expect-error AuthResult | undefined is not AuthResult
expectTrue<Equals<AuthResult | undefined, AuthResult>>()

// ---- Express: req.auth is AuthResult | undefined (global augmentation of Express.Request)
const app = express()
app.use(forExpress.tokenward(validator))
app.use(forExpress.tokenward(options, { optional: true, passErrors: true }))
app.get(
  '/',
  forExpress.requireRoles('admin'),
  forExpress.requireRoles('admin', 'billing', { org: '1' }),
  forExpress.requireScopes('read', 'write'),
  forExpress.requireAuth({ roles: { anyOf: ['admin', 'editor'] }, scopes: ['read'] }),
  (req, res) => {
    // One auth type in every adapter, non-optional behind the middleware (no `?.` needed).
    expectTrue<Equals<typeof req.auth, AuthResult>>()
    res.json({ subject: req.auth.subject })
  },
)
expectTrue<Equals<Express.Request['auth'], AuthResult>>()
// @ts-expect-error the options object comes last
forExpress.requireRoles({ org: '1' }, 'admin')
// @ts-expect-error roles are strings
forExpress.requireRoles(1)
// @ts-expect-error no such adapter option
forExpress.tokenward(validator, { key: 'user' })
// @ts-expect-error validator options need an audience
forExpress.tokenward({ issuer: 'https://issuer.example' })

// ---- Koa: ctx.state.auth is AuthResult downstream of tokenward()
new Koa().use(forKoa.tokenward(validator)).use((ctx) => {
  expectTrue<Equals<typeof ctx.state.auth, AuthResult>>()
  // @ts-expect-error AuthResult has no such member
  ctx.body = ctx.state.auth.nope
})
new Koa<forKoa.TokenwardState>().use((ctx) => {
  expectTrue<Equals<typeof ctx.state.auth, AuthResult>>()
  ctx.body = ctx.state.auth.subject
})
new Koa().use(forKoa.tokenward(options, { key: 'user' })).use((ctx) => {
  expectTrue<Equals<typeof ctx.state.user, AuthResult>>()
  ctx.body = ctx.state.user.subject
})
// Koa is typed by module augmentation: any `new Koa()` has ctx.state.auth, no generics needed.
new Koa().use((ctx) => {
  expectTrue<Equals<typeof ctx.state.auth, AuthResult>>()
  ctx.body = ctx.state.auth.subject
})
// @koa/router: the state type flows through route-level middleware and guards.
new Router().get(
  '/',
  forKoa.tokenward(validator),
  forKoa.requireRoles('admin', { org: '1' }),
  forKoa.requireScopes('read'),
  forKoa.requireAuth({ roles: { anyOf: ['admin', 'editor'] } }),
  (ctx) => {
    expectTrue<Equals<typeof ctx.state.auth, AuthResult>>()
    ctx.body = ctx.state.auth.subject
  },
)
new Router<forKoa.TokenwardState>().use(forKoa.requireRoles('admin')).get('/', (ctx) => {
  expectTrue<Equals<typeof ctx.state.auth, AuthResult>>()
  ctx.body = ctx.state.auth.subject
})
expectTrue<Equals<forKoa.TokenwardState, { auth: AuthResult }>>()
expectTrue<Equals<forKoa.TokenwardState<'user'>, { user: AuthResult }>>()
// @ts-expect-error the options object comes last
forKoa.requireRoles({ org: '1' }, 'admin')
// @ts-expect-error the key is a string
forKoa.tokenward(validator, { key: 1 })

// ---- Fastify: request.auth is AuthResult | null; guards are decorated on the instance
const server = fastify()
void server.register(tokenwardPlugin, { ...options, global: false, optional: true })
void server.register(namedPlugin, { validator, passErrors: true })
// @ts-expect-error validator options need an audience
void server.register(tokenwardPlugin, { issuer: 'https://issuer.example' })
server.get(
  '/',
  {
    config: { tokenward: true },
    preHandler: [
      server.requireRoles('admin'),
      server.requireRoles('admin', 'billing', { org: '1' }),
      server.requireScopes('read'),
      server.requireAuth({ roles: { anyOf: ['admin', 'editor'] } }),
    ],
  },
  (request) => {
    expectTrue<Equals<typeof request.auth, AuthResult>>()
    return { subject: request.auth.subject }
  },
)
server.get<{ Params: { id: string } }>(
  '/items/:id',
  { preHandler: server.requireScopes('read') },
  (request) => ({ id: request.params.id, subject: request.auth.subject }),
)
expectTrue<Equals<FastifyRequest['auth'], AuthResult>>()
// @ts-expect-error config.tokenward is a boolean
server.get('/x', { config: { tokenward: 'yes' } }, () => 'x')
// @ts-expect-error the options object comes last
server.requireRoles({ org: '1' }, 'admin')

// ---- Hono: c.var.auth is AuthResult, through the app's env or the middleware's
new Hono<forHono.TokenwardEnv>()
  .use(forHono.tokenward(validator))
  .get(
    '/',
    forHono.requireRoles('admin'),
    forHono.requireRoles('admin', 'billing', { org: '1' }),
    forHono.requireScopes('read', 'write'),
    forHono.requireAuth({ roles: { anyOf: ['admin', 'editor'] } }),
    (c) => {
      expectTrue<Equals<typeof c.var.auth, AuthResult>>()
      const viaGet = c.get('auth')
      expectTrue<Equals<typeof viaGet, AuthResult>>()
      // @ts-expect-error AuthResult has no such member
      return c.json({ subject: viaGet.subject, nope: c.var.auth.nope })
    },
  )
new Hono().use(forHono.tokenward(options)).get('/', (c) => {
  expectTrue<Equals<typeof c.var.auth, AuthResult>>()
  return c.json({ subject: c.var.auth.subject })
})
new Hono().use(forHono.tokenward(validator, { optional: true, passErrors: true })).get('/', (c) => {
  expectTrue<Equals<typeof c.var.auth, AuthResult | undefined>>()
  // @ts-expect-error optional mode: possibly undefined
  return c.json({ subject: c.var.auth.subject })
})
new Hono<{ Variables: forHono.TokenwardVariables & { requestId: string } }>().get('/', (c) => {
  expectTrue<Equals<typeof c.var.requestId, string>>()
  return c.json({ subject: c.var.auth.subject })
})
// @ts-expect-error the options object comes last
forHono.requireRoles({ org: '1' }, 'admin')
// @ts-expect-error no such adapter option
forHono.tokenward(validator, { key: 'user' })
// @ts-expect-error validator options need an audience
forHono.tokenward({ issuer: 'https://issuer.example' })

// ---- NestJS: module options, decorators' signatures
forNest.TokenwardModule.forRoot(options, { globalGuard: false, optional: true })
forNest.TokenwardModule.forRoot(validator)
forNest.TokenwardModule.forRootAsync({
  inject: ['ISSUER'],
  useFactory: (issuer: string) => ({ issuer, audience: 'api' }),
})
forNest.TokenwardModule.forRootAsync({ useFactory: () => Promise.resolve(validator) })
expectTrue<Equals<ReturnType<typeof forNest.Auth>, ParameterDecorator>>()
expectTrue<Equals<ReturnType<typeof forNest.Roles>, MethodDecorator & ClassDecorator>>()
forNest.Roles('admin', 'billing', { org: '1' })
forNest.RequireAuth({ roles: { anyOf: ['admin', 'editor'] } })
// @ts-expect-error the options object comes last
forNest.Roles({ org: '1' }, 'admin')
// @ts-expect-error the factory gives validator options or a validator
forNest.TokenwardModule.forRootAsync({ useFactory: () => 'https://issuer.example' })
// @ts-expect-error no such module option
forNest.TokenwardModule.forRoot(validator, { key: 'user' })
