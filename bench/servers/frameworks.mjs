/* global Bun, URL */
// The frameworks of the HTTP benchmark, each with the same trivial route, `GET /` → `{ ok: true }`;
// `install(app)` adds the contender's middleware first. Loaded lazily: the driver imports this
// module for `bunBinary` only.
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

async function expressApp(install) {
  const { default: express } = await import('express')
  const app = express()
  app.disable('x-powered-by')
  app.disable('etag')
  await install?.(app)
  app.get('/', (_req, res) => {
    res.json({ ok: true })
  })
  // What any real app has: errors rendered as JSON, never logged per request (Express's default
  // handler writes every error's stack to stderr, which would measure the terminal).
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- Express needs four parameters
  app.use((err, _req, res, _next) => {
    const status = err.status ?? err.statusCode ?? 500
    if (err.headers !== undefined && typeof err.headers === 'object') res.set(err.headers)
    res.status(status).json({ error: err.code ?? err.name ?? 'error' })
  })
  return {
    listen: () =>
      new Promise((resolve) => {
        const server = app.listen(0, '127.0.0.1', () => resolve(server))
      }),
  }
}

async function koaApp(install) {
  const { default: Koa } = await import('koa')
  const app = new Koa()
  app.silent = true
  await install?.(app)
  app.use((ctx) => {
    if (ctx.method === 'GET' && ctx.path === '/') ctx.body = { ok: true }
  })
  return {
    listen: () =>
      new Promise((resolve) => {
        const server = app.listen(0, '127.0.0.1', () => resolve(server))
      }),
  }
}

async function fastifyApp(install) {
  const { default: Fastify } = await import('fastify')
  const app = Fastify({ logger: false })
  await install?.(app)
  app.get('/', async () => ({ ok: true }))
  await app.ready()
  return {
    listen: async () => {
      await app.listen({ port: 0, host: '127.0.0.1' })
      return app.server
    },
  }
}

/** Hono on Node, through @hono/node-server (a Node http.Server). */
async function honoApp(install) {
  const { Hono } = await import('hono')
  const { serve } = await import('@hono/node-server')
  const app = await honoRoutes(Hono, install)
  return {
    listen: () =>
      new Promise((resolve) => {
        const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
          resolve(server),
        )
      }),
  }
}

/** Hono on Bun, through Bun.serve (the server process runs on Bun; see `runtime`). */
async function honoBunApp(install) {
  const { Hono } = await import('hono')
  const app = await honoRoutes(Hono, install)
  return {
    listen: async () => {
      const server = Bun.serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' })
      // What servers/server.mjs reads of a Node server.
      return { address: () => ({ port: server.port }) }
    },
  }
}

async function honoRoutes(Hono, install) {
  const app = new Hono()
  await install?.(app)
  app.get('/', (c) => c.json({ ok: true }))
  return app
}

export const FRAMEWORKS = {
  express: expressApp,
  koa: koaApp,
  fastify: fastifyApp,
  hono: honoApp,
  'hono-bun': honoBunApp,
}

/** The Bun binary of the workspace's `bun` package (its postinstall script puts it there). */
export function bunBinary() {
  try {
    const require = createRequire(new URL('../../package.json', import.meta.url))
    const binary = join(dirname(require.resolve('bun/package.json')), 'bin/bun.exe')
    return existsSync(binary) ? binary : undefined
  } catch {
    return undefined
  }
}
