// Sender-constrained tokens, step-up and protected resource metadata through real HTTP, on every
// Node adapter (Express 4 and 5, Koa 2 and 3, Fastify, Hono on @hono/node-server): DPoP-bound
// tokens (RFC 9449) and certificate-bound tokens (RFC 8705) minted by the real provider,
// `acr` / `auth_time` step-up (RFC 9470), the RFC 9728 document and the `resource_metadata` of
// every 401. mTLS runs over real TLS on 127.0.0.1 with a throwaway CA.
import * as http from 'node:http'
import * as https from 'node:https'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  createValidator,
  type AuthResult,
  type JwsAlgorithm,
  type Validator,
  type ValidatorOptions,
} from '@tokenward/core'
import * as forExpress from '@tokenward/express'
import fastifyPlugin from '@tokenward/fastify'
import * as forHono from '@tokenward/hono'
import * as forKoa from '@tokenward/koa'
import { express, express4 } from '../../packages/express/test/frameworks.js'
import { fastify } from '../../packages/fastify/test/frameworks.js'
import { Hono, getRequestListener } from '../../packages/hono/test/frameworks.js'
import { Koa, Koa2, Router } from '../../packages/koa/test/frameworks.js'
import { createDpopClient, type DpopClient } from '../../packages/core/test/support/dpop.js'
import {
  createCertificateAuthority,
  type CertificateAuthority,
  type CertifiedKey,
} from '../../packages/core/test/support/x509.js'
import { startIssuer, type TestIssuer } from '../support/issuer.js'
import { echo } from './apps.js'

const ALGS: JwsAlgorithm[] = ['ES256', 'PS256']
const BINDING_DESCRIPTION = 'The token is bound to a key or certificate this request does not prove'
const PROOF_DESCRIPTION = 'The DPoP proof is invalid'
const STEP_UP_DESCRIPTION = 'A different authentication level is required'

/** The error parameters of a challenge: RFC 6750 §3 `error` and `error_description`. */
function parameters(error: string, description: string, detail: string): string {
  return `error="${error}", error_description="${description}: ${detail}"`
}
const binding = (detail: string) => parameters('invalid_token', BINDING_DESCRIPTION, detail)
const proof = (detail: string) => parameters('invalid_dpop_proof', PROOF_DESCRIPTION, detail)
const stepUp = (detail: string) =>
  parameters('insufficient_user_authentication', STEP_UP_DESCRIPTION, detail)

const AS_BEARER = 'the token is DPoP-bound: it must come with the DPoP scheme and a proof'
const OTHER_CERTIFICATE = 'the client certificate is not the one of cnf x5t#S256'
const NO_CERTIFICATE = 'the token is certificate-bound and the request has no client certificate'

interface NodeFramework {
  readonly name: string
  /** The framework reads the TLS connection's client certificate (Hono's Fetch request does not). */
  readonly tls: boolean
  handler(validator: Validator): Promise<{ listener: http.RequestListener; close(): Promise<void> }>
}

function expressApp(name: string, create: typeof express): NodeFramework {
  return {
    name,
    tls: true,
    async handler(validator) {
      const app = create()
      app.use(forExpress.tokenward(validator))
      const send: express.RequestHandler = (req, res) => {
        res.json(echo(req.auth))
      }
      app.get('/api/orders', send)
      app.get('/api/mfa', forExpress.requireAcr('urn:mfa'), send)
      app.get('/api/recent', forExpress.requireAuth({ maxAge: 60 }), send)
      return { listener: app, close: async () => undefined }
    },
  }
}

function koaApp(name: string, create: typeof Koa): NodeFramework {
  return {
    name,
    tls: true,
    async handler(validator) {
      const app = new create()
      app.silent = true
      app.use(forKoa.tokenward(validator))
      const router = new Router()
      const send = (ctx: { state: { auth?: AuthResult }; body: unknown }) => {
        ctx.body = echo(ctx.state.auth)
      }
      router.get('/api/orders', send)
      router.get('/api/mfa', forKoa.requireAcr('urn:mfa'), send)
      router.get('/api/recent', forKoa.requireAuth({ maxAge: 60 }), send)
      app.use(router.routes())
      const handle = app.callback()
      return {
        listener: (req, res) => {
          void handle(req, res)
        },
        close: async () => undefined,
      }
    },
  }
}

const fastifyApp: NodeFramework = {
  name: 'fastify 5',
  tls: true,
  async handler(validator) {
    let listener: http.RequestListener | undefined
    // The test owns the server (its port names the resource): Fastify only gets its handler.
    const app = fastify({
      serverFactory: (handler) => {
        listener = handler
        return http.createServer()
      },
    })
    await app.register(fastifyPlugin, { validator })
    app.get('/api/orders', (request) => echo(request.auth))
    app.get('/api/mfa', { preHandler: app.requireAcr('urn:mfa') }, (request) => echo(request.auth))
    app.get('/api/recent', { preHandler: app.requireAuth({ maxAge: 60 }) }, (request) =>
      echo(request.auth),
    )
    await app.ready()
    return { listener: listener!, close: () => app.close() }
  },
}

const honoApp: NodeFramework = {
  name: 'hono 4 (@hono/node-server)',
  tls: false,
  async handler(validator) {
    const app = new Hono<forHono.TokenwardEnv>()
    app.use(forHono.tokenward(validator))
    app.get('/api/orders', (c) => c.json(echo(c.var.auth)))
    app.get('/api/mfa', forHono.requireAcr('urn:mfa'), (c) => c.json(echo(c.var.auth)))
    app.get('/api/recent', forHono.requireAuth({ maxAge: 60 }), (c) => c.json(echo(c.var.auth)))
    const handle = getRequestListener(app.fetch)
    return {
      listener: (req, res) => {
        void handle(req, res)
      },
      close: async () => undefined,
    }
  },
}

const NODE_FRAMEWORKS: readonly NodeFramework[] = [
  expressApp('express 5', express),
  expressApp('express 4', express4),
  koaApp('koa 3', Koa),
  koaApp('koa 2', Koa2),
  fastifyApp,
  honoApp,
]

interface Running {
  /** `http(s)://127.0.0.1:<port>` */
  readonly url: string
  /** `<url>/.well-known/oauth-protected-resource/api` */
  readonly metadataUrl: string
  close(): Promise<void>
}

interface ServeOptions {
  /** Validator options on top of the test's (issuer, audience, resource, dpop). */
  readonly extra?: (url: string) => Partial<ValidatorOptions>
  /** Serve HTTPS with this certificate, asking for (not requiring) a client certificate. */
  readonly tls?: { readonly ca: CertificateAuthority; readonly server: CertifiedKey }
}

let issuer: TestIssuer
let ca: CertificateAuthority
let serverCertificate: CertifiedKey
let alice: CertifiedKey
let bob: CertifiedKey
let dpopClient: DpopClient
const running: Running[] = []

beforeAll(async () => {
  issuer = await startIssuer({ algorithms: ['ES256'] })
  ca = createCertificateAuthority()
  serverCertificate = ca.issueServer()
  alice = ca.issueClient('alice')
  bob = ca.issueClient('bob')
  dpopClient = await createDpopClient('ES256')
})
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()))
})
afterAll(async () => {
  await issuer.close()
})

/**
 * Starts `framework` on 127.0.0.1:0 (HTTP, or HTTPS with `tls`), then its validator: the
 * resource id `<url>/api` needs the port.
 */
async function serve(framework: NodeFramework, options: ServeOptions = {}): Promise<Running> {
  let listener: http.RequestListener = (_req, res) => {
    res.writeHead(503).end()
  }
  const dispatch: http.RequestListener = (req, res) => {
    listener(req, res)
  }
  const server =
    options.tls === undefined
      ? http.createServer(dispatch)
      : https.createServer(
          {
            key: options.tls.server.keyPem,
            cert: options.tls.server.pem,
            ca: options.tls.ca.pem,
            requestCert: true,
            rejectUnauthorized: false,
          },
          dispatch,
        )
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const url = `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`
  const validator = createValidator({
    issuer: issuer.issuer,
    audience: issuer.resource,
    resource: { id: `${url}/api` },
    dpop: { algorithms: ALGS },
    ...options.extra?.(url),
  })
  const app = await framework.handler(validator)
  listener = app.listener
  const app_: Running = {
    url,
    metadataUrl: `${url}/.well-known/oauth-protected-resource/api`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve()
        })
        server.closeAllConnections()
      })
      await app.close()
      await validator.close()
    },
  }
  running.push(app_)
  return app_
}

interface Answer {
  readonly status: number
  readonly challenge: string | undefined
  readonly body: unknown
}

interface RequestOptions {
  readonly method?: string
  readonly headers?: Record<string, string>
  /** The TLS client certificate to present (HTTPS only). */
  readonly certificate?: CertifiedKey
}

/** One request on a fresh connection (http or https by the URL). */
function send(url: string, options: RequestOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const secure = url.startsWith('https:')
    const tlsOptions = secure
      ? {
          ca: ca.pem,
          ...(options.certificate === undefined
            ? {}
            : { cert: options.certificate.pem, key: options.certificate.keyPem }),
        }
      : {}
    const request = (secure ? https : http).request(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        agent: false,
        ...tlsOptions,
      },
      (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          const challenge = response.headers['www-authenticate']
          resolve({
            status: response.statusCode ?? 0,
            challenge: Array.isArray(challenge) ? challenge.join(', ') : challenge,
            body: text === '' ? undefined : (JSON.parse(text) as unknown),
          })
        })
        response.on('error', reject)
      },
    )
    request.on('error', reject)
    request.end()
  })
}

/** The JSON body of a rejection (`toHttpResponse`). */
function errorBody(code: string, error: string | undefined, description: string): unknown {
  return error === undefined
    ? { error_description: description, code }
    : { error, error_description: description, code }
}

/** A DPoP-bound JWT from the provider, and the headers of a request that proves it. */
async function dpopToken(): Promise<string> {
  const issued = await issuer.issueToken({ dpop: dpopClient })
  expect(issued.tokenType).toBe('DPoP')
  return issued.token
}

async function dpopHeaders(
  token: string,
  target: { method?: string; url: string },
): Promise<Record<string, string>> {
  return {
    authorization: `DPoP ${token}`,
    dpop: await dpopClient.proof({
      method: target.method ?? 'GET',
      url: target.url,
      accessToken: token,
    }),
  }
}

/** A 401 with this challenge and the body of `code`. */
function refused(
  challenge: string,
  code: string,
  error: string | undefined,
  description: string,
): Answer {
  return { status: 401, challenge, body: errorBody(code, error, description) }
}

const bindingRefused = (app: Running, detail: string): Answer =>
  refused(
    `Bearer realm="api", resource_metadata="${app.metadataUrl}", ${binding(detail)}, DPoP algs="ES256 PS256"`,
    'invalid_token_binding',
    'invalid_token',
    `${BINDING_DESCRIPTION}: ${detail}`,
  )

const proofRefused = (app: Running, detail: string): Answer =>
  refused(
    `Bearer realm="api", resource_metadata="${app.metadataUrl}", DPoP ${proof(detail)}, algs="ES256 PS256"`,
    'invalid_dpop_proof',
    'invalid_dpop_proof',
    `${PROOF_DESCRIPTION}: ${detail}`,
  )

describe.each(NODE_FRAMEWORKS)('$name', (framework) => {
  describe('DPoP-bound tokens (RFC 9449 §7)', () => {
    it('accepts the token with the DPoP scheme and a fresh proof of this request', async () => {
      const app = await serve(framework)
      const token = await dpopToken()
      const orders = `${app.url}/api/orders`
      const first = await send(orders, { headers: await dpopHeaders(token, { url: orders }) })
      expect(first.status).toBe(200)
      expect(first.body).toMatchObject({ auth: { source: 'jwt' } })
      // Each request has its own proof: the second, with a new jti, is accepted too.
      const second = await send(orders, { headers: await dpopHeaders(token, { url: orders }) })
      expect(second.status).toBe(200)
    })

    it('refuses the token as Bearer (§7.2): invalid_token_binding on the Bearer challenge', async () => {
      const app = await serve(framework)
      const token = await dpopToken()
      const orders = `${app.url}/api/orders`
      const headers = await dpopHeaders(token, { url: orders })
      const answer = await send(orders, {
        headers: { ...headers, authorization: `Bearer ${token}` },
      })
      expect(answer).toEqual(bindingRefused(app, AS_BEARER))
    })

    it('refuses a replayed proof (§11.1): invalid_dpop_proof on the DPoP challenge', async () => {
      const app = await serve(framework)
      const token = await dpopToken()
      const orders = `${app.url}/api/orders`
      const headers = await dpopHeaders(token, { url: orders })
      expect((await send(orders, { headers })).status).toBe(200)
      expect(await send(orders, { headers })).toEqual(
        proofRefused(app, 'the proof was used before'),
      )
    })

    it.each([
      [
        'another URL (htu)',
        (url: string) => ({ url: `${url}/api/other` }),
        (url: string) => `htu '${url}/api/other' is not this request's URL`,
      ],
      [
        'another method (htm)',
        (url: string) => ({ method: 'POST', url: `${url}/api/orders` }),
        () => "htm 'POST' is not the method 'GET'",
      ],
      [
        'another origin (htu)',
        () => ({ url: 'http://127.0.0.1:1/api/orders' }),
        () => "htu 'http://127.0.0.1:1/api/orders' is not this request's URL",
      ],
    ])('refuses a proof made for %s (§4.3 checks 8, 9)', async (_name, target, detail) => {
      const app = await serve(framework)
      const token = await dpopToken()
      const answer = await send(`${app.url}/api/orders`, {
        headers: await dpopHeaders(token, target(app.url)),
      })
      expect(answer).toEqual(proofRefused(app, detail(app.url)))
    })

    it("in 'required' mode, refuses a plain bearer token: the DPoP challenge alone", async () => {
      const app = await serve(framework, {
        extra: () => ({ dpop: { mode: 'required', algorithms: ALGS } }),
      })
      const { token } = await issuer.issueToken()
      const answer = await send(`${app.url}/api/orders`, {
        headers: { authorization: `Bearer ${token}` },
      })
      const detail = 'only DPoP-bound tokens are accepted'
      expect(answer).toEqual(
        refused(
          `DPoP realm="api", resource_metadata="${app.metadataUrl}", ${binding(detail)}, algs="ES256 PS256"`,
          'invalid_token_binding',
          'invalid_token',
          `${BINDING_DESCRIPTION}: ${detail}`,
        ),
      )
    })

    it('behind a proxy (http.baseUrl), checks htu against the public URL', async () => {
      const app = await serve(framework, {
        extra: () => ({ http: { baseUrl: 'https://api.example.com' } }),
      })
      const token = await dpopToken()
      const orders = `${app.url}/api/orders`
      const publicUrl = 'https://api.example.com/api/orders'
      const accepted = await send(orders, { headers: await dpopHeaders(token, { url: publicUrl }) })
      expect(accepted.status).toBe(200)
      const internal = await send(orders, { headers: await dpopHeaders(token, { url: orders }) })
      expect(internal).toEqual(proofRefused(app, `htu '${orders}' is not this request's URL`))
    })

    it('behind a trusted proxy (http.trustProxy), takes the URL from X-Forwarded-Proto/Host', async () => {
      const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example.com' }
      const trusting = await serve(framework, { extra: () => ({ http: { trustProxy: true } }) })
      const token = await dpopToken()
      const publicUrl = 'https://api.example.com/api/orders'
      const accepted = await send(`${trusting.url}/api/orders`, {
        headers: { ...(await dpopHeaders(token, { url: publicUrl })), ...forwarded },
      })
      expect(accepted.status).toBe(200)
      // Without trustProxy the headers are the client's word: ignored.
      const plain = await serve(framework)
      const ignored = await send(`${plain.url}/api/orders`, {
        headers: { ...(await dpopHeaders(token, { url: publicUrl })), ...forwarded },
      })
      expect(ignored).toEqual(proofRefused(plain, `htu '${publicUrl}' is not this request's URL`))
    })
  })

  describe('certificate-bound tokens through a TLS-terminating proxy (RFC 8705 §3)', () => {
    const header = 'x-client-cert'
    const extra = () => ({ http: { clientCertificateHeader: header } })

    it('accepts the token with its certificate in the header', async () => {
      const app = await serve(framework, { extra })
      const { token } = await issuer.issueToken({ certificate: alice.pem })
      const answer = await send(`${app.url}/api/orders`, {
        headers: { authorization: `Bearer ${token}`, [header]: encodeURIComponent(alice.pem) },
      })
      expect(answer.status).toBe(200)
    })

    it.each([
      ['another certificate', () => ({ [header]: encodeURIComponent(bob.pem) }), OTHER_CERTIFICATE],
      ['no certificate', () => ({}), NO_CERTIFICATE],
    ])('refuses it with %s: invalid_token_binding', async (_name, certificate, detail) => {
      const app = await serve(framework, { extra })
      const { token } = await issuer.issueToken({ certificate: alice.pem })
      const answer = await send(`${app.url}/api/orders`, {
        headers: { authorization: `Bearer ${token}`, ...certificate() },
      })
      expect(answer).toEqual(bindingRefused(app, detail))
    })
  })

  describe.runIf(framework.tls)('certificate-bound tokens over mutual TLS (RFC 8705 §3)', () => {
    it('accepts the token with the certificate it is bound to', async () => {
      const app = await serve(framework, { tls: { ca, server: serverCertificate } })
      const { token } = await issuer.issueToken({ certificate: alice.pem })
      const answer = await send(`${app.url}/api/orders`, {
        headers: { authorization: `Bearer ${token}` },
        certificate: alice,
      })
      expect(answer.status).toBe(200)
    })

    it.each([
      ['another certificate from the same CA', () => bob, OTHER_CERTIFICATE],
      ['no certificate', () => undefined, NO_CERTIFICATE],
    ])('refuses it with %s: invalid_token_binding', async (_name, certificate, detail) => {
      const app = await serve(framework, { tls: { ca, server: serverCertificate } })
      const { token } = await issuer.issueToken({ certificate: alice.pem })
      const presented = certificate()
      const answer = await send(`${app.url}/api/orders`, {
        headers: { authorization: `Bearer ${token}` },
        ...(presented === undefined ? {} : { certificate: presented }),
      })
      expect(answer).toEqual(bindingRefused(app, detail))
    })
  })

  describe('step-up (RFC 9470 §3)', () => {
    const now = () => Math.floor(Date.now() / 1000)

    it.each([
      ['acr urn:mfa', '/api/mfa', { acr: 'urn:mfa' }],
      ['auth_time 10 s ago', '/api/recent', { authTime: -10 }],
    ])('accepts a token with %s', async (_name, path, claims) => {
      const app = await serve(framework)
      const { token } = await issuer.issueToken({
        ...('acr' in claims ? { acr: claims.acr } : { authTime: now() + claims.authTime }),
      })
      const answer = await send(`${app.url}${path}`, {
        headers: { authorization: `Bearer ${token}` },
      })
      expect(answer.status).toBe(200)
    })

    it.each([
      [
        'acr urn:pwd',
        '/api/mfa',
        { acr: 'urn:pwd' },
        'acr_values="urn:mfa"',
        /^acr 'urn:pwd' is not one of the accepted values$/,
      ],
      ['no acr', '/api/mfa', {}, 'acr_values="urn:mfa"', /^the token has no acr$/],
      [
        'auth_time 120 s ago',
        '/api/recent',
        { authTime: -120 },
        'max_age="60"',
        /^the user authenticated 12\d seconds ago, more than 60$/,
      ],
      ['no auth_time', '/api/recent', {}, 'max_age="60"', /^the token has no auth_time$/],
    ])(
      'refuses a token with %s: insufficient_user_authentication',
      async (_name, path, claims, parameter, detail) => {
        const app = await serve(framework)
        const { token } = await issuer.issueToken({
          ...('acr' in claims ? { acr: claims.acr } : {}),
          ...('authTime' in claims ? { authTime: now() + claims.authTime } : {}),
        })
        const answer = await send(`${app.url}${path}`, {
          headers: { authorization: `Bearer ${token}` },
        })
        const body = answer.body as { error_description: string }
        const said = body.error_description.slice(STEP_UP_DESCRIPTION.length + 2)
        expect(said).toMatch(detail)
        expect(answer).toEqual(
          refused(
            `Bearer realm="api", resource_metadata="${app.metadataUrl}", ${stepUp(said)}, ${parameter}`,
            'insufficient_user_authentication',
            'insufficient_user_authentication',
            `${STEP_UP_DESCRIPTION}: ${said}`,
          ),
        )
      },
    )

    it('puts the error of a DPoP-bound token on the DPoP challenge (RFC 9449 §7.1)', async () => {
      const app = await serve(framework)
      const issued = await issuer.issueToken({ dpop: dpopClient, acr: 'urn:pwd' })
      const mfa = `${app.url}/api/mfa`
      const answer = await send(mfa, { headers: await dpopHeaders(issued.token, { url: mfa }) })
      const detail = "acr 'urn:pwd' is not one of the accepted values"
      expect(answer).toEqual(
        refused(
          `Bearer realm="api", resource_metadata="${app.metadataUrl}", DPoP ${stepUp(detail)}, acr_values="urn:mfa", algs="ES256 PS256"`,
          'insufficient_user_authentication',
          'insufficient_user_authentication',
          `${STEP_UP_DESCRIPTION}: ${detail}`,
        ),
      )
    })
  })

  describe('protected resource metadata (RFC 9728 §3)', () => {
    it('serves the document at the path-suffixed well-known URL', async () => {
      const app = await serve(framework)
      const answer = await send(app.metadataUrl)
      expect(answer).toEqual({
        status: 200,
        challenge: undefined,
        body: {
          resource: `${app.url}/api`,
          authorization_servers: [issuer.issuer],
          bearer_methods_supported: ['header'],
          dpop_signing_alg_values_supported: ALGS,
          dpop_bound_access_tokens_required: false,
        },
      })
    })

    it('names it in the challenge of a request without a token (§5.1)', async () => {
      const app = await serve(framework)
      expect(await send(`${app.url}/api/orders`)).toEqual(
        refused(
          `Bearer realm="api", resource_metadata="${app.metadataUrl}"`,
          'missing_token',
          undefined,
          'No bearer token',
        ),
      )
    })
  })
})
