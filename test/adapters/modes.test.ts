// Adapter options and framework specifics over real HTTP, with tokens from a real OpenID
// Provider: optional mode, passErrors, errors that are not token problems, option errors,
// Koa with @koa/router (route-level mounting, a custom state key) and Fastify's `global`.
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ConfigurationError,
  createValidator,
  type AuthResult,
  type Validator,
} from '@tokenward/core'
import * as forExpress from '@tokenward/express'
import tokenwardPlugin from '@tokenward/fastify'
import * as forKoa from '@tokenward/koa'
import { express } from '../../packages/express/test/frameworks.js'
import { fastify, type FastifyRequest } from '../../packages/fastify/test/frameworks.js'
import { Koa, Router } from '../../packages/koa/test/frameworks.js'
import { startIssuer, type TestIssuer } from '../support/issuer.js'
import { listen } from '../../packages/core/test/support/listen.js'
import {
  FRAMEWORKS,
  ORG,
  echo,
  get,
  mintToken,
  testValidatorOptions,
  type Answer,
  type RunningApp,
} from './apps.js'

let issuer: TestIssuer
let validator: Validator
let admin: string
let expired: string
const closing: RunningApp[] = []

beforeAll(async () => {
  issuer = await startIssuer()
  validator = createValidator(testValidatorOptions(issuer))
  const now = Math.floor(Date.now() / 1000)
  ;[admin, expired] = await Promise.all([
    mintToken(issuer, { admin: { [ORG]: 'acme.example' } }),
    mintToken(issuer, {}, { claims: { iat: now - 7200, exp: now - 3600 } }),
  ])
})

afterAll(async () => {
  await Promise.all(closing.map((app) => app.close()))
  await issuer.close()
})

async function started(app: Promise<RunningApp>): Promise<RunningApp> {
  const running = await app
  closing.push(running)
  return running
}

const MISSING = {
  status: 401,
  challenge: 'Bearer realm="api"',
  body: { error_description: 'No bearer token', code: 'missing_token' },
}

function summary(answer: Answer) {
  return {
    status: answer.status,
    challenge: answer.headers['www-authenticate'],
    body: answer.body,
  }
}

const frameworks = FRAMEWORKS.map((framework) => ({ framework, name: framework.name }))

describe.each(frameworks)('$name', ({ framework }) => {
  describe('optional: true', () => {
    let app: RunningApp
    beforeAll(async () => {
      app = await started(framework.start(validator, { optional: true }))
    })

    it('lets a request without a token through with no auth', async () => {
      const answer = await get(`${app.url}/me`)
      expect(answer.status).toBe(200)
      expect(answer.body).toEqual({ auth: null })
    })

    it('treats another scheme as no token, as the core says', async () => {
      const answer = await get(`${app.url}/me`, 'Basic YWxhZGRpbjpvcGVuc2VzYW1l')
      expect(answer.status).toBe(200)
      expect(answer.body).toEqual({ auth: null })
    })

    it('still authenticates a valid token', async () => {
      const answer = await get(`${app.url}/me`, `Bearer ${admin}`)
      expect(answer.status).toBe(200)
      expect(answer.body).toMatchObject({ auth: { roles: { admin: [ORG] } } })
    })

    it('still rejects a malformed or expired token', async () => {
      expect((await get(`${app.url}/me`, 'Bearer a b')).status).toBe(400)
      const answer = await get(`${app.url}/me`, `Bearer ${expired}`)
      expect(answer.status).toBe(401)
      expect(answer.body).toMatchObject({ code: 'token_expired' })
    })

    it('a guard on a request without a token answers missing_token', async () => {
      expect(summary(await get(`${app.url}/admin`))).toEqual(MISSING)
      expect((await get(`${app.url}/admin`, `Bearer ${admin}`)).status).toBe(200)
    })
  })

  describe('passErrors: true', () => {
    it("hands the core's error to the framework's error handler", async () => {
      const app = await started(framework.start(validator, { passErrors: true }))
      const missing = await get(`${app.url}/me`)
      expect(summary(missing)).toEqual(MISSING)
      expect(missing.headers['x-rendered-by']).toBe('app')
      const denied = await get(`${app.url}/admin-and-editor`, `Bearer ${admin}`)
      expect(denied.status).toBe(403)
      expect(denied.body).toMatchObject({ code: 'insufficient_role' })
      expect(denied.headers['x-rendered-by']).toBe('app')
    })
  })

  it('an error that is not a token problem is a bare 500 (a throwing roles callback)', async () => {
    const throwing = createValidator(
      testValidatorOptions(issuer, {
        roles: () => {
          throw new Error('roles callback failed')
        },
      }),
    )
    const app = await started(framework.start(throwing))
    const answer = await get(`${app.url}/me`, `Bearer ${admin}`)
    expect(answer.status).toBe(500)
    expect(answer.body).toEqual({ code: 'internal_error' })
    expect(answer.headers['cache-control']).toBe('no-store')
    expect(answer.headers['www-authenticate']).toBeUndefined()
  })
})

describe('option errors surface when the app is built', () => {
  const bad = { issuer: 'not a url', audience: 'api' }

  it('express and koa: tokenward() throws the ConfigurationError', () => {
    expect(() => forExpress.tokenward(bad)).toThrow(ConfigurationError)
    expect(() => forKoa.tokenward(bad)).toThrow(ConfigurationError)
  })

  it('fastify: the registration fails with it', async () => {
    const app = fastify()
    const error = await app
      .register(tokenwardPlugin, bad)
      .ready()
      .then(
        () => undefined,
        (reason: unknown) => reason,
      )
    expect(error).toBeInstanceOf(ConfigurationError)
    expect(error).toMatchObject({ code: 'invalid_config', option: 'issuer' })
    await app.close()
  })
})

describe('express', () => {
  it('a guard without tokenward() before it is a wiring error for Express (500), not a 401', async () => {
    const app = express()
    app.get('/admin', forExpress.requireRoles('admin'), (_req, res) => {
      res.json({ reached: true })
    })
    // Express tells an error handler by its four parameters.
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    app.use(((_error, _req, res, _next) => {
      res.status(500).json({ wiring: true })
    }) as express.ErrorRequestHandler)
    const running = await started(listen(app))
    const answer = await get(`${running.url}/admin`, `Bearer ${admin}`)
    expect(answer.status).toBe(500)
    expect(answer.body).toEqual({ wiring: true })
  })
})

describe('koa with @koa/router', () => {
  let url: string
  beforeAll(async () => {
    const app = new Koa()
    app.silent = true
    const router = new Router()
    router.get('/public', (ctx) => {
      ctx.body = { public: true }
    })
    router.get(
      '/private',
      forKoa.tokenward(validator, { key: 'user' }),
      forKoa.requireRoles('admin', { org: ORG }),
      (ctx) => {
        const state = ctx.state as { user?: AuthResult; auth?: AuthResult }
        ctx.body = { user: echo(state.user).auth, auth: state.auth ?? null }
      },
    )
    app.use(router.routes()).use(router.allowedMethods())
    const handle = app.callback()
    url = (
      await started(
        listen((req, res) => {
          void handle(req, res)
        }),
      )
    ).url
  })

  it('routes without the middleware are left alone', async () => {
    const answer = await get(`${url}/public`, 'Bearer a b')
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual({ public: true })
  })

  it('route-level middleware authenticates and the guard reads the custom key', async () => {
    expect(summary(await get(`${url}/private`))).toEqual(MISSING)
    const answer = await get(`${url}/private`, `Bearer ${admin}`)
    expect(answer.status).toBe(200)
    expect(answer.body).toMatchObject({ user: { roles: { admin: [ORG] } }, auth: null })
  })

  it('unknown paths and methods stay the router’s', async () => {
    expect((await get(`${url}/nowhere`)).status).toBe(404)
  })
})

describe('fastify: which routes are authenticated', () => {
  async function app(options: { global?: boolean; optional?: boolean }): Promise<string> {
    const instance = fastify()
    await instance.register(tokenwardPlugin, { validator, ...options })
    const handler = (request: FastifyRequest) => echo(request.auth)
    instance.get('/public', handler)
    instance.get('/health', { config: { tokenward: false } }, handler)
    instance.get('/private', { config: { tokenward: true } }, handler)
    instance.get('/guarded', { preHandler: instance.requireRoles('admin') }, handler)
    await instance.listen({ port: 0, host: '127.0.0.1' })
    const { port } = instance.server.address() as AddressInfo
    closing.push({ url: '', close: () => instance.close() })
    return `http://127.0.0.1:${port}`
  }

  it('global: false leaves routes alone unless they opt in with config.tokenward', async () => {
    const url = await app({ global: false })
    const open = await get(`${url}/public`, 'Bearer a b')
    expect(open.status).toBe(200)
    expect(open.body).toEqual({ auth: null })
    expect(summary(await get(`${url}/private`))).toEqual(MISSING)
    const opted = await get(`${url}/private`, `Bearer ${admin}`)
    expect(opted.status).toBe(200)
    expect(opted.body).toMatchObject({ auth: { roles: { admin: [ORG] } } })
  })

  it('global: false: a guard on a route left alone answers missing_token', async () => {
    const url = await app({ global: false })
    expect(summary(await get(`${url}/guarded`, `Bearer ${admin}`))).toEqual(MISSING)
  })

  it('global (default): every route, except one with config.tokenward false', async () => {
    const url = await app({})
    expect(summary(await get(`${url}/public`))).toEqual(MISSING)
    expect(summary(await get(`${url}/nowhere`))).toEqual(MISSING)
    const health = await get(`${url}/health`)
    expect(health.status).toBe(200)
    expect(health.body).toEqual({ auth: null })
    expect((await get(`${url}/guarded`, `Bearer ${admin}`)).status).toBe(200)
  })
})
