// One table of cases through every adapter (Express 5 and 4, Koa 3 and 2, Fastify 5) over real
// HTTP, with tokens minted by a real OpenID Provider: each framework must give the exact same
// status, challenge and body, because the core makes every decision and renders every error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ValidatorOptions } from '@tokenward/core'
import { startIssuer, type TestIssuer } from '../support/issuer.js'
import {
  APP1,
  APP2,
  FRAMEWORKS,
  ORG,
  OTHER_ORG,
  PROJECT,
  get,
  mintToken,
  rawGet,
  testValidatorOptions,
  type Answer,
  type Roles,
  type RunningApp,
  type TokenOptions,
} from './apps.js'

const REALM = 'api'

let issuer: TestIssuer
const apps = new Map<string, RunningApp>()
const tokens: Record<string, string> = {}
const validatorOptions = (extra: Partial<ValidatorOptions> = {}) =>
  testValidatorOptions(issuer, extra)
const zitadelToken = (roles: Roles, options?: TokenOptions) => mintToken(issuer, roles, options)

beforeAll(async () => {
  issuer = await startIssuer()
  const now = Math.floor(Date.now() / 1000)
  const [admin, editor, nobody, otherOrg, expired, untrusted, opaque] = await Promise.all([
    zitadelToken({ admin: { [ORG]: 'acme.example' } }, { scope: 'read' }),
    zitadelToken({ editor: { [ORG]: 'acme.example' } }, { scope: 'read write' }),
    zitadelToken({}),
    zitadelToken({ admin: { [OTHER_ORG]: 'other.example' } }),
    zitadelToken(
      { admin: { [ORG]: 'acme.example' } },
      { claims: { iat: now - 7200, exp: now - 3600 } },
    ),
    zitadelToken({ admin: { [ORG]: 'acme.example' } }, { clientIds: [APP1, APP2] }),
    issuer
      .issueToken({
        format: 'opaque',
        audience: [PROJECT],
        scope: 'read',
        claims: { 'urn:zitadel:iam:org:project:roles': { admin: { [ORG]: 'acme.example' } } },
      })
      .then((issued) => issued.token),
  ])
  Object.assign(tokens, { admin, editor, nobody, otherOrg, expired, untrusted, opaque })
  for (const framework of FRAMEWORKS) {
    apps.set(framework.name, await framework.start(validatorOptions()))
  }
})

afterAll(async () => {
  await Promise.all([...apps.values()].map((app) => app.close()))
  await issuer.close()
})

interface Case {
  name: string
  path: string
  /** Authorization header lines (several = the header sent more than once). */
  authorization: () => string[]
  /** The app to ask; default: the one shared app of the framework. */
  app?: 'fresh, issuer down'
  status: number
  /** Exact `WWW-Authenticate`, or null where none may be sent. */
  challenge: string | null
  retryAfter?: string
  /** The exact body, or a function giving it (values known only once the issuer runs). */
  body: unknown
}

const UNTRUSTED_DESCRIPTION = () =>
  `The token has an untrusted audience: '${APP2}' is not a trusted audience`

const challenge = (error: string, description: string, extra = '') =>
  `Bearer realm="${REALM}", error="${error}", error_description="${description}"${extra}`

const CASES: Case[] = [
  {
    name: 'valid token: 200, auth attached',
    path: '/me',
    authorization: () => [`Bearer ${tokens.admin}`],
    status: 200,
    challenge: null,
    body: () => ({
      auth: {
        subject: issuer.tokenClient.clientId,
        clientId: APP1,
        source: 'jwt',
        audience: [APP1, PROJECT],
        scopes: ['read'],
        roles: { admin: [ORG] },
      },
    }),
  },
  {
    name: 'no Authorization header: 401 with a bare challenge',
    path: '/me',
    authorization: () => [],
    status: 401,
    challenge: `Bearer realm="${REALM}"`,
    body: { error_description: 'No bearer token', code: 'missing_token' },
  },
  {
    name: 'another scheme counts as no token',
    path: '/me',
    authorization: () => ['Basic YWxhZGRpbjpvcGVuc2VzYW1l'],
    status: 401,
    challenge: `Bearer realm="${REALM}"`,
    body: { error_description: 'No bearer token', code: 'missing_token' },
  },
  {
    name: 'malformed Bearer credential: 400 invalid_request',
    path: '/me',
    authorization: () => ['Bearer a b'],
    status: 400,
    challenge: challenge(
      'invalid_request',
      'Malformed request: the Bearer credential is malformed',
    ),
    body: {
      error: 'invalid_request',
      error_description: 'Malformed request: the Bearer credential is malformed',
      code: 'invalid_request',
    },
  },
  {
    // RFC 7235 §2.1: the scheme and its credentials are separated by spaces (1*SP), nothing else.
    name: 'a tab after Bearer: 400 invalid_request, never an anonymous request',
    path: '/me',
    authorization: () => [`Bearer\t${tokens.admin}`],
    status: 400,
    challenge: challenge(
      'invalid_request',
      'Malformed request: the scheme must be followed by a space',
    ),
    body: {
      error: 'invalid_request',
      error_description: 'Malformed request: the scheme must be followed by a space',
      code: 'invalid_request',
    },
  },
  {
    name: 'two Authorization headers: 400 invalid_request',
    path: '/me',
    authorization: () => [`Bearer ${tokens.admin}`, `Bearer ${tokens.admin}`],
    status: 400,
    challenge: challenge(
      'invalid_request',
      'Malformed request: more than one Authorization header',
    ),
    body: {
      error: 'invalid_request',
      error_description: 'Malformed request: more than one Authorization header',
      code: 'invalid_request',
    },
  },
  {
    name: 'expired token: 401 token_expired',
    path: '/me',
    authorization: () => [`Bearer ${tokens.expired}`],
    status: 401,
    challenge: challenge('invalid_token', 'The access token expired'),
    body: {
      error: 'invalid_token',
      error_description: 'The access token expired',
      code: 'token_expired',
    },
  },
  {
    name: 'an untrusted audience beside a trusted one (strict): 401 naming it',
    path: '/me',
    authorization: () => [`Bearer ${tokens.untrusted}`],
    status: 401,
    // The core quotes the value in its detail and then turns the quotes into spaces.
    challenge: challenge('invalid_token', UNTRUSTED_DESCRIPTION()),
    body: () => ({
      error: 'invalid_token',
      error_description: UNTRUSTED_DESCRIPTION(),
      code: 'untrusted_audience',
    }),
  },
  {
    name: 'requireRoles without the role: 403 insufficient_role',
    path: '/admin',
    authorization: () => [`Bearer ${tokens.editor}`],
    status: 403,
    challenge: challenge('insufficient_scope', 'The token lacks a required role'),
    body: {
      error: 'insufficient_scope',
      error_description: 'The token lacks a required role',
      code: 'insufficient_role',
    },
  },
  {
    name: 'requireRoles with the role: 200',
    path: '/admin',
    authorization: () => [`Bearer ${tokens.admin}`],
    status: 200,
    challenge: null,
    body: () =>
      expect.objectContaining({ auth: expect.objectContaining({ roles: { admin: [ORG] } }) }),
  },
  {
    name: 'requireRoles(role, { org }): the role in another organisation is 403',
    path: '/admin-in-org',
    authorization: () => [`Bearer ${tokens.otherOrg}`],
    status: 403,
    challenge: challenge('insufficient_scope', 'The token lacks a required role'),
    body: {
      error: 'insufficient_scope',
      error_description: 'The token lacks a required role',
      code: 'insufficient_role',
    },
  },
  {
    name: 'requireRoles(role, { org }): the role in that organisation is 200',
    path: '/admin-in-org',
    authorization: () => [`Bearer ${tokens.admin}`],
    status: 200,
    challenge: null,
    body: () =>
      expect.objectContaining({ auth: expect.objectContaining({ roles: { admin: [ORG] } }) }),
  },
  {
    name: 'requireRoles(a, b) needs both: one of them is 403',
    path: '/admin-and-editor',
    authorization: () => [`Bearer ${tokens.admin}`],
    status: 403,
    challenge: challenge('insufficient_scope', 'The token lacks a required role'),
    body: {
      error: 'insufficient_scope',
      error_description: 'The token lacks a required role',
      code: 'insufficient_role',
    },
  },
  {
    name: 'requireAuth({ roles: { anyOf } }): one of them is enough',
    path: '/editor-or-admin',
    authorization: () => [`Bearer ${tokens.editor}`],
    status: 200,
    challenge: null,
    body: () =>
      expect.objectContaining({ auth: expect.objectContaining({ roles: { editor: [ORG] } }) }),
  },
  {
    name: 'requireAuth({ roles: { anyOf } }): none of them is 403',
    path: '/editor-or-admin',
    authorization: () => [`Bearer ${tokens.nobody}`],
    status: 403,
    challenge: challenge('insufficient_scope', 'The token lacks a required role'),
    body: {
      error: 'insufficient_scope',
      error_description: 'The token lacks a required role',
      code: 'insufficient_role',
    },
  },
  {
    name: 'requireScopes without the scope: 403 insufficient_scope naming it',
    path: '/write',
    authorization: () => [`Bearer ${tokens.admin}`],
    status: 403,
    challenge: challenge(
      'insufficient_scope',
      'The token lacks a required scope: missing write',
      ', scope="write"',
    ),
    body: {
      error: 'insufficient_scope',
      error_description: 'The token lacks a required scope: missing write',
      code: 'insufficient_scope',
    },
  },
  {
    name: 'requireScopes with the scope: 200',
    path: '/write',
    authorization: () => [`Bearer ${tokens.editor}`],
    status: 200,
    challenge: null,
    body: () =>
      expect.objectContaining({ auth: expect.objectContaining({ scopes: ['read', 'write'] }) }),
  },
  {
    name: 'opaque token: introspected at the real endpoint, 200',
    path: '/me',
    authorization: () => [`Bearer ${tokens.opaque}`],
    status: 200,
    challenge: null,
    body: () => ({
      auth: {
        subject: issuer.tokenClient.clientId,
        clientId: issuer.tokenClient.clientId,
        source: 'introspection',
        audience: [PROJECT],
        scopes: ['read'],
        roles: { admin: [ORG] },
      },
    }),
  },
  {
    name: 'issuer down (fresh validator): 503 with Retry-After and no challenge',
    path: '/me',
    app: 'fresh, issuer down',
    authorization: () => [`Bearer ${tokens.admin}`],
    status: 503,
    challenge: null,
    retryAfter: '30',
    body: { error_description: 'The token issuer is unavailable', code: 'upstream_unavailable' },
  },
]

async function ask(app: RunningApp, testCase: Case): Promise<Answer> {
  const lines = testCase.authorization()
  const url = `${app.url}${testCase.path}`
  if (lines.length <= 1) return get(url, lines[0])
  return rawGet(
    url,
    lines.flatMap((line) => ['Authorization', line]),
  )
}

/** Status, challenge and body of every framework, per case, to compare them with each other. */
const seen = new Map<string, Map<string, unknown>>()

describe.each(CASES)('$name', (testCase) => {
  it.each(FRAMEWORKS.map((framework) => ({ framework, name: framework.name })))(
    '$name',
    async ({ framework }) => {
      let answer: Answer
      if (testCase.app === 'fresh, issuer down') {
        const app = await framework.start(
          validatorOptions({ upstreamBackoff: { minSeconds: 30, maxSeconds: 30 } }),
        )
        issuer.setDown(true)
        try {
          answer = await ask(app, testCase)
        } finally {
          issuer.setDown(false)
          await app.close()
        }
      } else {
        answer = await ask(apps.get(framework.name)!, testCase)
      }
      const expectedBody = typeof testCase.body === 'function' ? testCase.body() : testCase.body
      expect(answer.status).toBe(testCase.status)
      expect(answer.body).toEqual(expectedBody)
      expect(answer.headers['www-authenticate']).toBe(testCase.challenge ?? undefined)
      if (testCase.status >= 400) {
        expect(answer.headers['cache-control']).toBe('no-store')
        expect(answer.headers['content-type']).toBe('application/json; charset=utf-8')
      }
      expect(answer.headers['retry-after']).toBe(testCase.retryAfter)
      expect(answer.headers['x-rendered-by']).toBeUndefined()

      const row = seen.get(testCase.name) ?? new Map<string, unknown>()
      seen.set(testCase.name, row)
      row.set(framework.name, {
        status: answer.status,
        challenge: answer.headers['www-authenticate'],
        retryAfter: answer.headers['retry-after'],
        body: answer.body,
      })
    },
  )

  it('every framework answered identically', () => {
    const row = seen.get(testCase.name)
    expect([...(row?.keys() ?? [])]).toEqual(FRAMEWORKS.map((framework) => framework.name))
    const [first, ...others] = [...row!.values()]
    for (const other of others) expect(other).toEqual(first)
  })
})
