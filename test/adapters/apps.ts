// The same small API on every adapter, listening on 127.0.0.1:0, and raw HTTP helpers. The
// frameworks come from each adapter package's test/frameworks.ts (the root does not depend on
// them).
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { AuthResult, Requirements, Validator, ValidatorOptions } from '@tokenward/core'
import { toHttpResponse } from '@tokenward/core'
import * as forExpress from '@tokenward/express'
import fastifyPlugin from '@tokenward/fastify'
import * as forHono from '@tokenward/hono'
import * as forKoa from '@tokenward/koa'
import { express, express4 } from '../../packages/express/test/frameworks.js'
import { fastify } from '../../packages/fastify/test/frameworks.js'
import { Hono, getRequestListener } from '../../packages/hono/test/frameworks.js'
import { Koa, Koa2, Router } from '../../packages/koa/test/frameworks.js'
import { startNest, type Platform } from '../../packages/nestjs/test/app.js'
import { zitadelShape, type TestIssuer } from '../support/issuer.js'
import { listen } from '../../packages/core/test/support/listen.js'

export const PROJECT = '170086774599581953'
export const APP1 = '170086824411201793@portal'
export const APP2 = '209806276543185153@portal'
export const ORG = '170086363054473473'
export const OTHER_ORG = '209806355664453634'

/** ZITADEL-like: strict audience (this project and APP1), project roles, introspection. */
export function testValidatorOptions(
  issuer: TestIssuer,
  extra: Partial<ValidatorOptions> = {},
): ValidatorOptions {
  return {
    issuer: issuer.issuer,
    audience: { trusted: [PROJECT, APP1], mode: 'strict', required: [PROJECT] },
    roles: { preset: 'zitadel', projectId: PROJECT },
    introspection: {
      auth: { method: 'client_secret_basic', ...issuer.introspectionClients.basic },
    },
    ...extra,
  }
}

/** `{ role: { orgId: orgDomain } }` */
export type Roles = Record<string, Record<string, string>>

export interface TokenOptions {
  scope?: string
  clientIds?: string[]
  claims?: Record<string, unknown>
}

/** A ZITADEL-shaped JWT access token from the real token endpoint. */
export async function mintToken(
  issuer: TestIssuer,
  roles: Roles,
  options: TokenOptions = {},
): Promise<string> {
  const shape = zitadelShape({
    projectId: PROJECT,
    clientIds: options.clientIds ?? [APP1],
    clientId: APP1,
    roles,
    ...(options.claims === undefined ? {} : { claims: options.claims }),
  })
  const issued = await issuer.issueToken({
    ...shape,
    ...(options.scope === undefined ? {} : { scope: options.scope }),
  })
  return issued.token
}

/** A route and its guard; the same on every framework. */
type Guard =
  | { kind: 'roles'; roles: string[]; org?: string }
  | { kind: 'scopes'; scopes: string[] }
  | { kind: 'auth'; requirements: Requirements }

export const ROUTES: Readonly<Record<string, Guard | null>> = {
  '/me': null,
  '/admin': { kind: 'roles', roles: ['admin'] },
  '/admin-in-org': { kind: 'roles', roles: ['admin'], org: ORG },
  '/admin-and-editor': { kind: 'roles', roles: ['admin', 'editor'] },
  '/write': { kind: 'scopes', scopes: ['write'] },
  '/editor-or-admin': { kind: 'auth', requirements: { roles: { anyOf: ['editor', 'admin'] } } },
}

/** What every route answers: the parts of the AuthResult a client can check. */
export function echo(auth: AuthResult | null | undefined): Record<string, unknown> {
  if (auth === undefined || auth === null) return { auth: null }
  const { subject, clientId, source, audience, scopes, roles } = auth
  return { auth: { subject, clientId, source, audience, scopes, roles } }
}

export interface AppOptions {
  optional?: boolean
  /** Errors go to the framework's error handler, which renders them and adds `x-rendered-by: app`. */
  passErrors?: boolean
}

export interface RunningApp {
  url: string
  close(): Promise<void>
}

export interface Framework {
  name: string
  start(source: ValidatorOptions | Validator, options?: AppOptions): Promise<RunningApp>
}

type GuardFactories<H> = {
  requireRoles(...args: [...roles: string[], options: { org?: string }]): H
  requireScopes(...scopes: string[]): H
  requireAuth(requirements: Requirements): H
}

function guardFor<H>(guard: Guard, adapter: GuardFactories<H>): H {
  switch (guard.kind) {
    case 'roles':
      return adapter.requireRoles(...guard.roles, guard.org === undefined ? {} : { org: guard.org })
    case 'scopes':
      return adapter.requireScopes(...guard.scopes)
    case 'auth':
      return adapter.requireAuth(guard.requirements)
  }
}

function adapterOptions(options: AppOptions) {
  return { optional: options.optional === true, passErrors: options.passErrors === true }
}

function expressFramework(name: string, create: typeof express): Framework {
  return {
    name,
    async start(source, options = {}) {
      const app = create()
      app.use(forExpress.tokenward(source, adapterOptions(options)))
      for (const [path, guard] of Object.entries(ROUTES)) {
        const handler: express.RequestHandler = (req, res) => {
          res.json(echo(req.auth))
        }
        if (guard === null) app.get(path, handler)
        else app.get(path, guardFor(guard, forExpress), handler)
      }
      // Express tells an error handler by its four parameters.
      // eslint-disable-next-line @typescript-eslint/no-unused-vars
      app.use(((error, _req, res, _next) => {
        const { status, headers, body } = toHttpResponse(error)
        res.status(status).set(headers).set('x-rendered-by', 'app').json(body)
      }) as express.ErrorRequestHandler)
      return listen(app)
    },
  }
}

function koaFramework(name: string, create: typeof Koa): Framework {
  return {
    name,
    async start(source, options = {}) {
      const app = new create()
      app.silent = true
      // With passErrors, the errors reach the app's own error-handling middleware.
      app.use(async (ctx, next) => {
        try {
          await next()
        } catch (error) {
          const { status, headers, body } = toHttpResponse(error)
          ctx.status = status
          ctx.set({ ...headers, 'x-rendered-by': 'app' })
          ctx.body = body
        }
      })
      app.use(forKoa.tokenward(source, adapterOptions(options)))
      const router = new Router()
      for (const [path, guard] of Object.entries(ROUTES)) {
        const handler = (ctx: { state: { auth?: AuthResult }; body: unknown }) => {
          ctx.body = echo(ctx.state.auth)
        }
        if (guard === null) router.get(path, handler)
        else router.get(path, guardFor(guard, forKoa), handler)
      }
      app.use(router.routes()).use(router.allowedMethods())
      const handle = app.callback()
      return listen((req, res) => {
        void handle(req, res)
      })
    },
  }
}

const fastifyFramework: Framework = {
  name: 'fastify 5',
  async start(source, options = {}) {
    const app = fastify()
    app.setErrorHandler((error, _request, reply) => {
      const { status, headers, body } = toHttpResponse(error)
      void reply.code(status).headers(headers).header('x-rendered-by', 'app').send(body)
    })
    const validatorOption = isValidator(source) ? { validator: source } : source
    await app.register(fastifyPlugin, { ...validatorOption, ...adapterOptions(options) })
    for (const [path, guard] of Object.entries(ROUTES)) {
      app.get(path, guard === null ? {} : { preHandler: guardFor(guard, app) }, (request) =>
        echo(request.auth),
      )
    }
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as AddressInfo
    return { url: `http://127.0.0.1:${port}`, close: () => app.close() }
  },
}

const honoFramework: Framework = {
  name: 'hono 4 (@hono/node-server)',
  async start(source, options = {}) {
    const app = new Hono<forHono.OptionalTokenwardEnv>()
    app.onError((error, c) => {
      const { status, headers, body } = toHttpResponse(error)
      return c.body(JSON.stringify(body), status as 500, { ...headers, 'x-rendered-by': 'app' })
    })
    app.use(forHono.tokenward(source, adapterOptions(options)))
    for (const [path, guard] of Object.entries(ROUTES)) {
      if (guard === null) app.get(path, (c) => c.json(echo(c.var.auth)))
      else app.get(path, guardFor(guard, forHono), (c) => c.json(echo(c.var.auth)))
    }
    const handle = getRequestListener(app.fetch)
    return listen((req, res) => {
      void handle(req, res)
    })
  },
}

/** NestJS: TokenwardModule.forRoot, its global guard, @Roles/@Scopes/@RequireAuth, @Auth(). */
function nestFramework(platform: Platform): Framework {
  return {
    name: `nestjs 12 (${platform})`,
    start: (source, options = {}) => startNest(platform, source, echo, adapterOptions(options)),
  }
}

export const FRAMEWORKS: readonly Framework[] = [
  expressFramework('express 5', express),
  expressFramework('express 4', express4),
  koaFramework('koa 3', Koa),
  koaFramework('koa 2', Koa2),
  fastifyFramework,
  honoFramework,
  nestFramework('express'),
  nestFramework('fastify'),
]

function isValidator(value: ValidatorOptions | Validator): value is Validator {
  return typeof (value as Partial<Validator>).authenticate === 'function'
}

export interface Answer {
  status: number
  headers: Record<string, string>
  body: unknown
}

/**
 * GET with every header line as given (`[name, value, name, value, …]`): two `Authorization`
 * lines stay two lines, which `fetch` would join.
 */
export function rawGet(url: string, rawHeaders: readonly string[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // With raw headers Node adds no Host, and a Node server answers 400 to a request without one.
    const headers = ['Host', new URL(url).host, ...rawHeaders]
    const request = http.request(url, { headers, agent: false }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => {
        const headers: Record<string, string> = {}
        for (const [name, value] of Object.entries(response.headers)) {
          if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value
        }
        const text = Buffer.concat(chunks).toString('utf8')
        resolve({ status: response.statusCode ?? 0, headers, body: parse(text) })
      })
      response.on('error', reject)
    })
    request.on('error', reject)
    request.end()
  })
}

export async function get(url: string, authorization?: string): Promise<Answer> {
  const response = await fetch(url, {
    headers: authorization === undefined ? {} : { authorization },
  })
  const headers: Record<string, string> = {}
  response.headers.forEach((value, name) => {
    headers[name] = value
  })
  return { status: response.status, headers, body: parse(await response.text()) }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
