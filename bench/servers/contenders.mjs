/* global URL */
// The contenders: each is one HTTP server with one JSON route, `GET /` → `{ ok: true }`, behind
// one bearer-token check. Every check demands RS256, the issuer and the audience; keys come from
// the local issuer's JWKS (fetched, never given), except where a contender says otherwise.
//
// This module is imported by the driver (metadata only: nothing heavy is loaded at import time)
// and by servers/server.mjs, which calls `create()` in the server process.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { FRAMEWORKS, bunBinary } from './frameworks.mjs'

const packagesDir = new URL('../../packages/', import.meta.url)

/** A tokenward adapter package: where its build is, and whether it exists yet. */
export function adapterStatus(name) {
  const dist = new URL(`${name}/dist/index.js`, packagesDir)
  const src = new URL(`${name}/src/index.ts`, packagesDir)
  if (existsSync(dist)) return { ok: true, url: dist.href }
  if (existsSync(src)) {
    return { ok: false, reason: `packages/${name} is not built (run \`pnpm build\`)` }
  }
  return { ok: false, reason: `packages/${name} does not exist yet` }
}

const INTROSPECTION_AUTH = {
  method: 'client_secret_basic',
  clientId: 'bench-api',
  clientSecret: 'bench-secret',
}

/** The HMAC key of the entries tokenward writes to Redis (shared by every server of a run). */
const SHARED_ANSWERS_KEY = 'bench-shared-introspection-answers-key-0123456789'

/**
 * Validator options of the tokenward contenders, per scenario (the `jwks`-less RS256 set-up of
 * every contender; see lib/scenarios.mjs for what each scenario sends).
 */
async function tokenwardOptions(env, scenario) {
  const options = { issuer: env.issuer, audience: env.audience, algorithms: ['RS256'] }
  switch (scenario) {
    case 'opaque':
    case 'opaque-pool':
    case 'opaque-cold':
      // The endpoint comes from discovery; answers are cached (tokenward's default LRU).
      return { ...options, introspection: { auth: INTROSPECTION_AUTH } }
    case 'redis': {
      // Answers shared through Redis, an in-memory answer cache of one entry and no token cache
      // (which would hold the results): with 1,024 tokens in turn on 16 connections, every
      // request is a miss in memory and a hit in Redis (the warm-up's first pass fills Redis).
      // ttlSeconds outlasts the scenario (capped by `exp`).
      const { createRedisStore } = await import(adapterStatus('redis').url)
      const store = createRedisStore({ url: env.redisUrl })
      return {
        ...options,
        tokenCache: false,
        introspection: {
          auth: INTROSPECTION_AUTH,
          cache: { max: 1, ttlSeconds: 1800, store, signingKey: SHARED_ANSWERS_KEY },
        },
      }
    }
    case 'dpop':
      // Proofs are ES256 (RFC 9449 §4.2: any asymmetric JWS alg); `htu` is checked against the
      // configured base URL, as behind a proxy (every server then shares the same proofs).
      return {
        ...options,
        algorithms: ['RS256', 'ES256'],
        dpop: { algorithms: ['ES256'] },
        http: { baseUrl: env.dpopBaseUrl },
      }
    default:
      return options
  }
}

function bearer(header) {
  if (typeof header !== 'string' || header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined
  return header.slice(7).trim()
}

/** @tokenward/hono from its build, on Node and on Bun alike. */
async function installHonoTokenward(app, env, scenario) {
  const { tokenward } = await import(adapterStatus('hono').url)
  app.use(tokenward(await tokenwardOptions(env, scenario)))
}

/** The Hono control: one more middleware that only returns next(). */
async function installHonoNoop(app) {
  app.use((_c, next) => next())
}

/** What runs a contender's server process: Node (undefined) or another runtime's binary. */
export function runtimeBinary(name) {
  return CONTENDERS[name].runtime === 'bun' ? bunBinary() : undefined
}

// ---------------------------------------------------------------------------------------------

/**
 * name → { framework, label, tokenward?, optIn?, available(), install(app, env, scenario) }.
 * `optIn` contenders run only when named in BENCH_CONTENDERS.
 */
export const CONTENDERS = {
  'express-bare': {
    framework: 'express',
    label: 'express (no auth)',
    bare: true,
  },
  'koa-bare': {
    framework: 'koa',
    label: 'koa (no auth)',
    bare: true,
  },
  'fastify-bare': {
    framework: 'fastify',
    label: 'fastify (no auth)',
    bare: true,
  },

  'express-tokenward': {
    framework: 'express',
    label: 'express + @tokenward/express',
    tokenward: 'express',
    async install(app, env, scenario) {
      const { tokenward } = await import(adapterStatus('express').url)
      app.use(tokenward(await tokenwardOptions(env, scenario)))
    },
  },
  'koa-tokenward': {
    framework: 'koa',
    label: 'koa + @tokenward/koa',
    tokenward: 'koa',
    async install(app, env, scenario) {
      const { tokenward } = await import(adapterStatus('koa').url)
      app.use(tokenward(await tokenwardOptions(env, scenario)))
    },
  },
  'fastify-tokenward': {
    framework: 'fastify',
    label: 'fastify + @tokenward/fastify',
    tokenward: 'fastify',
    async install(app, env, scenario) {
      const { default: plugin } = await import(adapterStatus('fastify').url)
      await app.register(plugin, await tokenwardOptions(env, scenario))
    },
  },

  'hono-bare': {
    framework: 'hono',
    label: 'hono on node (no auth)',
    bare: true,
  },
  'hono-tokenward': {
    framework: 'hono',
    label: 'hono on node + @tokenward/hono',
    tokenward: 'hono',
    install: installHonoTokenward,
  },
  'hono-noop': {
    optIn: true,
    framework: 'hono',
    label: 'hono on node + a middleware that only returns next()',
    control: true,
    // A control: what one more middleware costs, and how far apart two equal servers measure.
    install: installHonoNoop,
  },
  'hono-bun-bare': {
    framework: 'hono-bun',
    runtime: 'bun',
    label: 'hono on bun (no auth)',
    bare: true,
  },
  'hono-bun-tokenward': {
    framework: 'hono-bun',
    runtime: 'bun',
    label: 'hono on bun + @tokenward/hono',
    tokenward: 'hono',
    install: installHonoTokenward,
  },
  'hono-bun-noop': {
    optIn: true,
    framework: 'hono-bun',
    runtime: 'bun',
    label: 'hono on bun + a middleware that only returns next()',
    control: true,
    install: installHonoNoop,
  },

  'fastify-noop': {
    framework: 'fastify',
    label: 'fastify + an onRequest hook that only calls done()',
    control: true,
    // A control: what one more hook costs, and how far apart two equal servers measure.
    async install(app) {
      app.addHook('onRequest', (_request, _reply, done) => done())
    },
  },
  'fastify-401': {
    framework: 'fastify',
    label: 'fastify + an onRequest hook that answers the same 401 without any check',
    control: true,
    optIn: true,
    answers: 401,
    // For the `bad` scenario: what Fastify itself spends answering tokenward's 401 (the same
    // status, headers and body, built once), so the cell beyond it is tokenward's own work.
    async install(app) {
      const headers = {
        'cache-control': 'no-store',
        'content-type': 'application/json; charset=utf-8',
        'www-authenticate':
          'Bearer realm="api", error="invalid_token", error_description="The token signature is invalid"',
      }
      const body = {
        error: 'invalid_token',
        error_description: 'The token signature is invalid',
        code: 'invalid_signature',
      }
      app.addHook('onRequest', (_request, reply) => {
        reply.code(401).headers(headers).send(body)
      })
    },
  },
  'koa-noop': {
    framework: 'koa',
    label: 'koa + a middleware that only returns next()',
    control: true,
    // A control: what one more middleware costs, and how far apart two equal servers measure.
    async install(app) {
      app.use((_ctx, next) => next())
    },
  },
  'express-async-noop': {
    framework: 'express',
    label: 'express + a middleware that only calls next() from a promise',
    optIn: true,
    control: true,
    // For diagnosis: what any promise-based Express middleware pays before doing any work.
    async install(app) {
      app.use((_req, _res, next) => {
        Promise.resolve().then(() => next())
      })
    },
  },
  'express-tokenward-core': {
    framework: 'express',
    label: 'express + @tokenward/core in a hand-written middleware',
    optIn: true,
    // For diagnosis: the core without the adapter, in the same middleware shape as express-jose.
    async install(app, env, scenario) {
      const { createValidator } = await import('@tokenward/core')
      const validator = createValidator(await tokenwardOptions(env, scenario))
      app.use((req, res, next) => {
        const token = bearer(req.headers.authorization)
        if (token === undefined) {
          res.status(401).json({ error: 'invalid_request' })
          return
        }
        validator.validate(token).then(
          (auth) => {
            req.auth = auth
            next()
          },
          () => {
            res.status(401).json({ error: 'invalid_token' })
          },
        )
      })
    },
  },
  'express-jose': {
    framework: 'express',
    label: 'express + jose jwtVerify (createRemoteJWKSet)',
    async install(app, env) {
      const { createRemoteJWKSet, jwtVerify } = await import('jose')
      const jwks = createRemoteJWKSet(new URL(env.jwksUri))
      const options = { issuer: env.issuer, audience: env.audience, algorithms: ['RS256'] }
      app.use((req, res, next) => {
        const token = bearer(req.headers.authorization)
        if (token === undefined) {
          res.status(401).json({ error: 'invalid_request' })
          return
        }
        jwtVerify(token, jwks, options).then(
          ({ payload }) => {
            req.auth = payload
            next()
          },
          () => {
            res.status(401).json({ error: 'invalid_token' })
          },
        )
      })
    },
  },
  'express-fast-jwt-static': {
    framework: 'express',
    label: 'express + fast-jwt, static PEM key',
    optIn: true,
    // For diagnosis: a synchronous verifier (node:crypto on the main thread, like tokenward's)
    // in the same middleware shape as express-jose.
    async install(app, env) {
      const { createVerifier } = await import('fast-jwt')
      const verify = createVerifier({
        key: env.publicKeyPem,
        algorithms: ['RS256'],
        allowedIss: env.issuer,
        allowedAud: env.audience,
      })
      app.use((req, res, next) => {
        const token = bearer(req.headers.authorization)
        try {
          if (token === undefined) throw new Error('no token')
          req.auth = verify(token)
        } catch {
          res.status(401).json({ error: 'invalid_token' })
          return
        }
        next()
      })
    },
  },
  'express-oauth2-jwt-bearer': {
    framework: 'express',
    label: 'express + express-oauth2-jwt-bearer',
    async install(app, env) {
      const { auth } = await import('express-oauth2-jwt-bearer')
      // Discovery from issuerBaseURL, as its README shows.
      app.use(auth({ issuerBaseURL: env.issuer, audience: env.audience, tokenSigningAlg: 'RS256' }))
    },
  },
  'express-jwt': {
    framework: 'express',
    label: 'express + express-jwt / jwks-rsa',
    async install(app, env) {
      const { expressjwt } = await import('express-jwt')
      const { default: jwksRsa } = await import('jwks-rsa')
      app.use(
        expressjwt({
          secret: jwksRsa.expressJwtSecret({ jwksUri: env.jwksUri, cache: true, rateLimit: true }),
          issuer: env.issuer,
          audience: env.audience,
          algorithms: ['RS256'],
        }),
      )
    },
  },
  'fastify-jwt': {
    framework: 'fastify',
    label: 'fastify + @fastify/jwt / get-jwks',
    async install(app, env) {
      const { default: fastifyJwt } = await import('@fastify/jwt')
      const { default: buildGetJwks } = await import('get-jwks')
      // get-jwks' README set-up: discovery from the token's `iss`, keys cached (its default LRU).
      const getJwks = buildGetJwks({ providerDiscovery: true, issuersWhitelist: [env.issuer] })
      await app.register(fastifyJwt, {
        decode: { complete: true },
        secret: (_request, token) => {
          const { kid, alg } = token.header
          return getJwks.getPublicKey({ kid, alg, domain: token.payload.iss })
        },
        verify: { allowedIss: env.issuer, allowedAud: env.audience, algorithms: ['RS256'] },
      })
      app.addHook('onRequest', async (request) => {
        await request.jwtVerify()
      })
    },
  },
  'fastify-jwt-static': {
    framework: 'fastify',
    label: '@fastify/jwt, static PEM key',
    optIn: true,
    async install(app, env) {
      const { default: fastifyJwt } = await import('@fastify/jwt')
      await app.register(fastifyJwt, {
        secret: { public: env.publicKeyPem },
        verify: { allowedIss: env.issuer, allowedAud: env.audience, algorithms: ['RS256'] },
      })
      app.addHook('onRequest', async (request) => {
        await request.jwtVerify()
      })
    },
  },
  'koa-jwt': {
    framework: 'koa',
    label: 'koa + koa-jwt / jwks-rsa',
    async install(app, env) {
      const { default: koaJwt } = await import('koa-jwt')
      const { default: jwksRsa } = await import('jwks-rsa')
      app.use(
        koaJwt({
          secret: jwksRsa.koaJwtSecret({ jwksUri: env.jwksUri, cache: true, rateLimit: true }),
          issuer: env.issuer,
          audience: env.audience,
          algorithms: ['RS256'],
        }),
      )
    },
  },
}

/** Why a contender cannot run here, or undefined when it can. */
export function unavailable(name) {
  const contender = CONTENDERS[name]
  if (contender === undefined) return 'unknown contender'
  if (contender.runtime === 'bun' && bunBinary() === undefined) {
    return 'the bun package is not installed (pnpm install at the root)'
  }
  if (contender.tokenward !== undefined) {
    const status = adapterStatus(contender.tokenward)
    if (!status.ok) return status.reason
  }
  return undefined
}

/** Builds the contender's app (in the server process) and starts listening. */
export async function create(name, env, scenario) {
  const contender = CONTENDERS[name]
  const app = await FRAMEWORKS[contender.framework](
    contender.install === undefined ? undefined : (a) => contender.install(a, env, scenario),
  )
  return app.listen()
}

export const serverEntry = fileURLToPath(new URL('./server.mjs', import.meta.url))
