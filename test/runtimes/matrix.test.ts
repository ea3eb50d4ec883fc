// The runtime matrix: the same API (servers/app.mjs, from the built packages) on Node, Bun, Deno
// and workerd (Cloudflare Workers, with nodejs_compat and without), through @tokenward/hono and
// through the core's Fetch API adapter, asked the same cases over real HTTP with tokens from a
// real OpenID Provider on 127.0.0.1. Each runtime must load its build of @tokenward/core (the
// Node build on Node, Bun and Deno; the Web build on workerd), give the exact status, code and
// challenge, and the same answer as Node. A runtime whose binary is missing fails in CI (CI set)
// and is skipped elsewhere.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  APP1,
  APP2,
  ORG,
  PROJECT,
  get,
  mintToken,
  rawGet,
  type Answer,
  type Roles,
  type TokenOptions,
} from '../adapters/apps.js'
import { startIssuer, type TestIssuer } from '../support/issuer.js'
import { RUNTIMES, unbuilt, type RunningServer, type Runtime } from './runtimes.js'

const REALM = 'api'

const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false'
const missingBuild = unbuilt()

let issuer: TestIssuer
const tokens: Record<string, string> = {}
const servers = new Map<string, RunningServer>()
const unavailable = new Map<string, string>()

for (const runtime of RUNTIMES) {
  const reason = runtime.unavailable()
  if (reason !== undefined) unavailable.set(runtime.name, reason)
}

const mint = (roles: Roles, options?: TokenOptions) => mintToken(issuer, roles, options)

/** The token with its payload edited (one more claim) and its signature kept. */
function edited(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string]
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as object
  const forged = Buffer.from(JSON.stringify({ ...claims, admin: true })).toString('base64url')
  return `${header}.${forged}.${signature}`
}

beforeAll(async () => {
  if (missingBuild.length > 0) return
  issuer = await startIssuer()
  const now = Math.floor(Date.now() / 1000)
  const [admin, editor, expired, untrusted, opaque] = await Promise.all([
    mint({ admin: { [ORG]: 'acme.example' } }, { scope: 'read' }),
    mint({ editor: { [ORG]: 'acme.example' } }),
    mint({ admin: { [ORG]: 'acme.example' } }, { claims: { iat: now - 7200, exp: now - 3600 } }),
    mint({ admin: { [ORG]: 'acme.example' } }, { clientIds: [APP1, APP2] }),
    issuer
      .issueToken({
        format: 'opaque',
        audience: [PROJECT],
        scope: 'read',
        claims: { 'urn:zitadel:iam:org:project:roles': { admin: { [ORG]: 'acme.example' } } },
      })
      .then((issued) => issued.token),
  ])
  Object.assign(tokens, { admin, editor, expired, untrusted, opaque, forged: edited(admin) })
  const config = {
    issuer: issuer.issuer,
    jwksUri: issuer.jwksUri,
    ...issuer.introspectionClients.basic,
  }
  // One at a time: each runtime starts in well under a second, and two cores are shared.
  for (const runtime of RUNTIMES) {
    if (!unavailable.has(runtime.name)) servers.set(runtime.name, await runtime.start(config))
  }
}, 120_000)

afterAll(async () => {
  for (const server of servers.values()) server.close()
  if (missingBuild.length === 0) await issuer.close()
})

interface Case {
  name: string
  /** The route after the adapter's prefix (`/hono`, `/fetch`). */
  path: '/me' | '/admin' | '-outage/me'
  /** Authorization header lines. */
  authorization: () => string[]
  status: number
  code?: string
  /** Exact `WWW-Authenticate`, or null where none may be sent. */
  challenge: string | null
  retryAfter?: string
  /** For 200s: what the route echoes of the AuthResult. */
  auth?: () => Record<string, unknown>
  /** Asked while the issuer is down. */
  issuerDown?: true
}

const challenge = (error: string, description: string) =>
  `Bearer realm="${REALM}", error="${error}", error_description="${description}"`

const CASES: Case[] = [
  {
    name: 'valid token: 200',
    path: '/me',
    authorization: () => [`Bearer ${tokens.admin}`],
    status: 200,
    challenge: null,
    auth: () => ({
      subject: issuer.tokenClient.clientId,
      clientId: APP1,
      source: 'jwt',
      audience: [APP1, PROJECT],
      scopes: ['read'],
      roles: { admin: [ORG] },
    }),
  },
  {
    name: 'expired: 401 token_expired',
    path: '/me',
    authorization: () => [`Bearer ${tokens.expired}`],
    status: 401,
    code: 'token_expired',
    challenge: challenge('invalid_token', 'The access token expired'),
  },
  {
    name: 'an untrusted audience (strict): 401 untrusted_audience',
    path: '/me',
    authorization: () => [`Bearer ${tokens.untrusted}`],
    status: 401,
    code: 'untrusted_audience',
    challenge: challenge(
      'invalid_token',
      `The token has an untrusted audience: '${APP2}' is not a trusted audience`,
    ),
  },
  {
    name: 'missing role: 403 insufficient_role',
    path: '/admin',
    authorization: () => [`Bearer ${tokens.editor}`],
    status: 403,
    code: 'insufficient_role',
    challenge: challenge('insufficient_scope', 'The token lacks a required role'),
  },
  {
    name: 'bad signature (payload edited): 401 invalid_signature',
    path: '/me',
    authorization: () => [`Bearer ${tokens.forged}`],
    status: 401,
    code: 'invalid_signature',
    challenge: challenge('invalid_token', 'The token signature is invalid'),
  },
  {
    name: 'opaque token through introspection: 200',
    path: '/me',
    authorization: () => [`Bearer ${tokens.opaque}`],
    status: 200,
    challenge: null,
    auth: () => ({
      subject: issuer.tokenClient.clientId,
      clientId: issuer.tokenClient.clientId,
      source: 'introspection',
      audience: [PROJECT],
      scopes: ['read'],
      roles: { admin: [ORG] },
    }),
  },
  {
    name: 'two Authorization headers: 400 invalid_request',
    path: '/me',
    authorization: () => [`Bearer ${tokens.admin}`, `Bearer ${tokens.admin}`],
    status: 400,
    code: 'invalid_request',
    challenge: challenge(
      'invalid_request',
      'Malformed request: more than one Authorization header',
    ),
  },
  {
    name: 'no token: 401 missing_token',
    path: '/me',
    authorization: () => [],
    status: 401,
    code: 'missing_token',
    challenge: `Bearer realm="${REALM}"`,
  },
  {
    name: 'JWKS unreachable (fresh validator): 503 with Retry-After',
    path: '-outage/me',
    authorization: () => [`Bearer ${tokens.admin}`],
    status: 503,
    code: 'upstream_unavailable',
    challenge: null,
    retryAfter: '30',
    issuerDown: true,
  },
]

const ADAPTERS = ['/hono', '/fetch'] as const

/** Each build's ESM file, from the repository root. */
const BUILDS = { node: 'packages/core/dist/index.js', web: 'packages/core/dist/web/index.js' }

async function ask(server: RunningServer, prefix: string, testCase: Case): Promise<Answer> {
  const url = `${server.url}${prefix}${testCase.path}`
  const lines = testCase.authorization()
  if (testCase.issuerDown) issuer.setDown(true)
  try {
    if (lines.length <= 1) return await get(url, lines[0])
    return await rawGet(
      url,
      lines.flatMap((line) => ['Authorization', line]),
    )
  } finally {
    if (testCase.issuerDown) issuer.setDown(false)
  }
}

/** What a client sees, to compare runtimes with each other. */
function seenBy(answer: Answer) {
  return {
    status: answer.status,
    challenge: answer.headers['www-authenticate'],
    cacheControl: answer.headers['cache-control'],
    retryAfter: answer.headers['retry-after'],
    body: answer.body,
  }
}

const answers = new Map<string, ReturnType<typeof seenBy>>()

describe.runIf(missingBuild.length === 0)('runtime matrix (built packages)', () => {
  describe.each(RUNTIMES.map((runtime) => ({ runtime, name: runtime.name })))(
    '$name',
    ({ runtime }: { runtime: Runtime }) => {
      const reason = unavailable.get(runtime.name)
      if (reason !== undefined) {
        // In CI a missing runtime is a failure; on a developer's machine, a skip that says why.
        it.skipIf(!inCi)(`is installed (${reason})`, () => {
          throw new Error(`${runtime.name} cannot run: ${reason}`)
        })
        return
      }
      it(`loads the ${runtime.build === 'node' ? 'Node' : 'Web'} build of @tokenward/core`, () => {
        expect(servers.get(runtime.name)!.core).toBe(BUILDS[runtime.build])
      })
      describe.each(ADAPTERS)('%s', (prefix) => {
        it.each(CASES)('$name', async (testCase) => {
          const server = servers.get(runtime.name)!
          const answer = await ask(server, prefix, testCase)
          expect(answer.status).toBe(testCase.status)
          expect(answer.headers['www-authenticate']).toBe(testCase.challenge ?? undefined)
          expect(answer.headers['retry-after']).toBe(testCase.retryAfter)
          if (testCase.status === 200) {
            expect(answer.body).toEqual({ auth: testCase.auth?.() })
          } else {
            expect((answer.body as { code?: unknown }).code).toBe(testCase.code)
            expect(answer.headers['cache-control']).toBe('no-store')
            expect(answer.headers['content-type']).toBe('application/json; charset=utf-8')
          }
          answers.set(`${runtime.name} ${prefix} ${testCase.name}`, seenBy(answer))
        })
      })
    },
  )

  it.each(CASES.map((testCase) => ({ testCase, name: testCase.name })))(
    'every runtime answered "$name" as Node did',
    ({ testCase }) => {
      const reference = (prefix: string) => answers.get(`node ${prefix} ${testCase.name}`)
      for (const prefix of ADAPTERS) {
        expect(reference(prefix)).toBeDefined()
        // The Fetch API adapter answers as @tokenward/hono does.
        expect(answers.get(`node /fetch ${testCase.name}`)).toEqual(reference('/hono'))
        for (const runtime of RUNTIMES) {
          if (!servers.has(runtime.name)) continue
          expect({
            runtime: runtime.name,
            prefix,
            answer: answers.get(`${runtime.name} ${prefix} ${testCase.name}`),
          }).toEqual({ runtime: runtime.name, prefix, answer: reference(prefix) })
        }
      }
    },
  )
})

if (missingBuild.length > 0) {
  describe('runtime matrix', () => {
    it.skipIf(!inCi)(`needs the built packages (${missingBuild.join(', ')}: pnpm build)`, () => {
      throw new Error(`not built: ${missingBuild.join(', ')}`)
    })
  })
}
