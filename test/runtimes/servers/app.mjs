/* global URL, Response */
// The API every runtime of the matrix serves, from the built packages (packages/*/dist), which
// the test links by name into a scratch project: the same routes through @tokenward/hono
// (`/hono/…`) and through the core's Fetch API adapter (`/fetch/…`), each with its own
// validators, and `/build`: where @tokenward/core was resolved from. `config` comes from the
// test (issuer URL, JWKS URL, introspection client).
import { authenticateFetch, createValidator } from '@tokenward/core'
import { requireRoles, tokenward } from '@tokenward/hono'
import { Hono } from 'hono'

export const PROJECT = '170086774599581953'
export const APP = '170086824411201793@portal'

/** ZITADEL-like: strict audience, project roles, introspection (as test/adapters/apps.ts). */
function options(config) {
  return {
    issuer: config.issuer,
    audience: { trusted: [PROJECT, APP], mode: 'strict', required: [PROJECT] },
    roles: { preset: 'zitadel', projectId: PROJECT },
    introspection: {
      auth: {
        method: 'client_secret_basic',
        clientId: config.clientId,
        clientSecret: config.clientSecret,
      },
    },
  }
}

/** Keys from the JWKS URL alone (no discovery), never asked before the outage case. */
function outageOptions(config) {
  return {
    ...options(config),
    jwksUri: config.jwksUri,
    upstreamBackoff: { minSeconds: 30, maxSeconds: 30 },
  }
}

function echo(auth) {
  const { subject, clientId, source, audience, scopes, roles } = auth
  return { auth: { subject, clientId, source, audience, scopes, roles } }
}

function honoApp(config) {
  const app = new Hono()
  app.use('/hono/*', tokenward(options(config)))
  app.use('/hono-outage/*', tokenward(outageOptions(config)))
  app.get('/hono/me', (c) => c.json(echo(c.var.auth)))
  app.get('/hono/admin', requireRoles('admin'), (c) => c.json(echo(c.var.auth)))
  app.get('/hono-outage/me', (c) => c.json(echo(c.var.auth)))
  return app
}

function fetchHandler(config) {
  const normal = createValidator(options(config))
  const outage = createValidator(outageOptions(config))
  const routes = {
    '/fetch/me': [normal, undefined],
    '/fetch/admin': [normal, { roles: ['admin'] }],
    '/fetch-outage/me': [outage, undefined],
  }
  return async (request) => {
    const route = routes[new URL(request.url).pathname]
    if (route === undefined) return new Response('not found', { status: 404 })
    const auth = await authenticateFetch(route[0], request, route[1])
    if (auth instanceof Response) return auth
    return Response.json(echo(auth))
  }
}

/** The URL of the @tokenward/core module this runtime resolves; null in a bundle (workerd). */
function resolvedCore() {
  try {
    return import.meta.resolve('@tokenward/core')
  } catch {
    return null
  }
}

/** One fetch handler for all: `(request, env?, ctx?) => Promise<Response>`. */
export function createHandler(config) {
  const hono = honoApp(config)
  const plain = fetchHandler(config)
  return (request, env, ctx) => {
    const { pathname } = new URL(request.url)
    if (pathname === '/build') return Response.json({ core: resolvedCore() })
    return pathname.startsWith('/fetch') ? plain(request) : hono.fetch(request, env, ctx)
  }
}
