// Each example started as its users would (`tsx server.ts`, configured from environment
// variables) against the harness's OpenID Provider, asked over HTTP, and stopped.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  startIssuer,
  zitadelShape,
  type IssueTokenOptions,
  type TestIssuer,
} from '../test/support/issuer.js'
import { built, examplesDir, freePort, get, killAll, runExample, type Running } from './support.js'
import { EnvironmentError, zitadelOptions } from './zitadel/config.js'

const PROJECT = '170086774599581953'
const WEB = '170086824411201793@portal'
const MOBILE = '209806276543185153@portal'
const ORG = '170086363054473473'

let issuer: TestIssuer
let keyDir: string

beforeAll(async () => {
  if (!built) return
  issuer = await startIssuer()
  keyDir = mkdtempSync(join(tmpdir(), 'tokenward-examples-'))
})
afterAll(async () => {
  killAll()
  if (!built) return
  rmSync(keyDir, { recursive: true, force: true })
  await issuer.close()
})

/** A ZITADEL-shaped token of this project (its two apps in aud), from `client` (default the web app). */
async function token(
  roles: string[],
  options: { format?: 'jwt' | 'opaque'; apps?: string[]; scope?: string } = {},
): Promise<string> {
  const apps = options.apps ?? [WEB, MOBILE]
  const shape = zitadelShape({
    projectId: PROJECT,
    clientIds: apps,
    clientId: apps[0]!,
    roles: Object.fromEntries(roles.map((role) => [role, { [ORG]: 'acme.example' }])),
  })
  const request: IssueTokenOptions = {
    ...shape,
    format: options.format ?? 'jwt',
    ...(options.scope === undefined ? {} : { scope: options.scope }),
  }
  return (await issuer.issueToken(request)).token
}

/** Starts an example and resolves with its URL, from the "listening on" line. */
async function start(name: string, env: Record<string, string>) {
  const example = runExample(name, 'server.ts', [], { PORT: '0', ...env })
  const [, url] = await example.waitFor(/listening on (http:\/\/\S+)/)
  return { example, url: url! }
}

describe.skipIf(!built).each(['express', 'koa', 'fastify'])('examples/%s', (name) => {
  it('serves a valid token, answers 401 without one, and stops on SIGTERM', async () => {
    const { example, url } = await start(name, {
      ISSUER: issuer.issuer,
      AUDIENCE: [PROJECT, WEB, MOBILE].join(','),
      AUDIENCE_MODE: 'strict',
      REQUIRED_AUDIENCE: PROJECT,
      PROJECT_ID: PROJECT,
      INTROSPECTION_CLIENT_ID: issuer.introspectionClients.basic.clientId,
      INTROSPECTION_CLIENT_SECRET: issuer.introspectionClients.basic.clientSecret,
    })
    const none = await get(`${url}/me`)
    expect(none.status).toBe(401)
    expect(none.challenge).toBe('Bearer realm="api"')
    expect((await get(`${url}/health`)).body).toEqual({ ok: true })

    const admin = await token(['admin'])
    const me = await get(`${url}/me`, admin)
    expect(me.status).toBe(200)
    expect(me.body).toMatchObject({ clientId: WEB, roles: { admin: [ORG] } })
    expect((await get(`${url}/admin`, admin)).status).toBe(200)
    expect((await get(`${url}/admin`, await token(['reader']))).body).toMatchObject({
      code: 'insufficient_role',
    })
    expect((await get(`${url}/me`, await token(['reader'], { format: 'opaque' }))).status).toBe(200)

    expect(await example.stop('SIGTERM')).toBe(0)
  }, 30_000)

  it('refuses to start without ISSUER and AUDIENCE, and says which', async () => {
    const example = runExample(name, 'server.ts', [], { PORT: '0' })
    expect(await example.exited()).toBe(1)
    expect(example.output()).toContain('Set ISSUER and AUDIENCE')
  }, 30_000)
})

/** Bearer's challenge parameters after the realm (RFC 6750 §3). */
const challenge = (error: string, description: string, extra = '') =>
  `error="${error}", error_description="${description}"${extra}`

interface Case {
  name: string
  path: string
  /** The token to send, by name (none: no Authorization header). */
  token?: 'admin' | 'reader' | 'opaque' | 'otherApi'
  status: number
  /** The exact WWW-Authenticate after `Bearer realm="api"`, given the metadata URL; null: none. */
  challenge: ((metadata: string) => string) | null
  /** The exact body, given the example's URL. */
  body: (url: string) => unknown
}

const ROLE_MISSING = 'The token lacks a required role'
const NOT_FOR_US = `The token is not meant for this API: required audience '${PROJECT}' is missing`
const SCOPE_MISSING = 'The token lacks a required scope: missing reports:read'

// The answers of the conformance table (test/adapters/conformance.test.ts), from the examples as
// their users run them; with RESOURCE set, a 401 names the metadata (RFC 9728 §5.1), a 403 not.
const CASES: Case[] = [
  {
    name: 'a public route without a token: 200',
    path: '/health',
    status: 200,
    challenge: null,
    body: () => ({ ok: true }),
  },
  {
    name: 'no token: 401 missing_token, a bare challenge naming the metadata',
    path: '/me',
    status: 401,
    challenge: (metadata) => `resource_metadata="${metadata}"`,
    body: () => ({ error_description: 'No bearer token', code: 'missing_token' }),
  },
  {
    name: 'a valid token: 200 with its subject, client, roles and scopes',
    path: '/me',
    token: 'admin',
    status: 200,
    challenge: null,
    body: () => ({
      subject: issuer.tokenClient.clientId,
      clientId: WEB,
      roles: { admin: [ORG] },
      scopes: [],
    }),
  },
  {
    // The introspection answer's client_id is the client the token was issued to (RFC 7662 §2.2).
    name: 'an opaque token, introspected: 200',
    path: '/me',
    token: 'opaque',
    status: 200,
    challenge: null,
    body: () => ({
      subject: issuer.tokenClient.clientId,
      clientId: issuer.tokenClient.clientId,
      roles: { reader: [ORG] },
      scopes: ['reports:read'],
    }),
  },
  {
    name: 'a token for another API: 401 invalid_audience',
    path: '/me',
    token: 'otherApi',
    status: 401,
    challenge: (metadata) =>
      `resource_metadata="${metadata}", ${challenge('invalid_token', NOT_FOR_US)}`,
    body: () => ({
      error: 'invalid_token',
      error_description: NOT_FOR_US,
      code: 'invalid_audience',
    }),
  },
  {
    name: 'requireRoles without the role: 403 insufficient_role',
    path: '/admin',
    token: 'reader',
    status: 403,
    challenge: () => challenge('insufficient_scope', ROLE_MISSING),
    body: () => ({
      error: 'insufficient_scope',
      error_description: ROLE_MISSING,
      code: 'insufficient_role',
    }),
  },
  {
    name: 'requireRoles with the role: 200',
    path: '/admin',
    token: 'admin',
    status: 200,
    challenge: null,
    body: () => ({ admin: issuer.tokenClient.clientId }),
  },
  {
    name: 'requireScopes without the scope: 403 insufficient_scope naming it',
    path: '/reports',
    token: 'admin',
    status: 403,
    challenge: () => challenge('insufficient_scope', SCOPE_MISSING, ', scope="reports:read"'),
    body: () => ({
      error: 'insufficient_scope',
      error_description: SCOPE_MISSING,
      code: 'insufficient_scope',
    }),
  },
  {
    name: 'requireScopes with the scope: 200',
    path: '/reports',
    token: 'reader',
    status: 200,
    challenge: null,
    body: () => ({ reports: [], reader: issuer.tokenClient.clientId }),
  },
  {
    name: 'the RFC 9728 metadata, without a token: 200',
    path: '/.well-known/oauth-protected-resource',
    status: 200,
    challenge: null,
    body: (url) => ({
      resource: url,
      authorization_servers: [issuer.issuer],
      bearer_methods_supported: ['header'],
      dpop_signing_alg_values_supported: expect.arrayContaining(['ES256', 'RS256']),
      dpop_bound_access_tokens_required: false,
    }),
  },
]

describe.skipIf(!built).each(['hono', 'nestjs'])('examples/%s', (name) => {
  let example: Running
  let url: string
  const tokens: Partial<Record<NonNullable<Case['token']>, string>> = {}

  beforeAll(async () => {
    if (!built) return
    // RESOURCE is this API's own URL: the port is chosen before the start.
    const port = await freePort()
    url = `http://127.0.0.1:${port}`
    example = runExample(name, 'server.ts', [], {
      ISSUER: issuer.issuer,
      AUDIENCE: [PROJECT, WEB, MOBILE].join(','),
      AUDIENCE_MODE: 'strict',
      REQUIRED_AUDIENCE: PROJECT,
      PROJECT_ID: PROJECT,
      RESOURCE: url,
      PORT: String(port),
      INTROSPECTION_CLIENT_ID: issuer.introspectionClients.basic.clientId,
      INTROSPECTION_CLIENT_SECRET: issuer.introspectionClients.basic.clientSecret,
    })
    const [admin, reader, opaque, otherApi] = await Promise.all([
      token(['admin']),
      token(['reader'], { scope: 'reports:read' }),
      token(['reader'], { scope: 'reports:read', format: 'opaque' }),
      issuer
        .issueToken({ audience: ['another-api'], claims: { client_id: WEB } })
        .then((issued) => issued.token),
    ])
    Object.assign(tokens, { admin, reader, opaque, otherApi })
    await example.waitFor(new RegExp(`listening on ${url.replaceAll('.', '\\.')}`), 20_000)
  }, 30_000)

  it.each(CASES)('$name', async (testCase) => {
    const answer = await get(
      `${url}${testCase.path}`,
      testCase.token === undefined ? undefined : tokens[testCase.token],
    )
    expect(answer.status).toBe(testCase.status)
    expect(answer.challenge).toBe(
      testCase.challenge === null
        ? null
        : [
            'Bearer realm="api"',
            testCase.challenge(`${url}/.well-known/oauth-protected-resource`),
          ].join(', '),
    )
    expect(answer.body).toEqual(testCase.body(url))
  })

  it('stops on SIGTERM, exit code 0', async () => {
    expect(await example.stop('SIGTERM')).toBe(0)
  })

  it('refuses to start without ISSUER and AUDIENCE, and says which', async () => {
    const refused = runExample(name, 'server.ts', [], { PORT: '0' })
    expect(await refused.exited()).toBe(1)
    expect(refused.output()).toContain('Set ISSUER and AUDIENCE')
  }, 30_000)
})

describe('examples/zitadel config', () => {
  it('is strict by default, trusts the project and the listed app ids, reads project roles', () => {
    const options = zitadelOptions({
      ZITADEL_ISSUER: 'https://acme-abc123.zitadel.cloud',
      ZITADEL_PROJECT_ID: PROJECT,
      ZITADEL_TRUSTED_IDS: ` ${WEB}, ${MOBILE} `,
    })
    expect(options).toEqual({
      issuer: 'https://acme-abc123.zitadel.cloud',
      profile: 'zitadel',
      audience: { trusted: [PROJECT, WEB, MOBILE], mode: 'strict', required: [PROJECT] },
      roles: { preset: 'zitadel', projectId: PROJECT },
    })
  })

  it('introspects with the key file, or a client secret; lenient on request', () => {
    const base = {
      ZITADEL_ISSUER: 'https://acme-abc123.zitadel.cloud',
      ZITADEL_PROJECT_ID: PROJECT,
    }
    expect(zitadelOptions({ ...base, ZITADEL_KEY_FILE: '/run/secrets/api.json' })).toMatchObject({
      introspection: {
        auth: { method: 'private_key_jwt', keyFile: '/run/secrets/api.json' },
        mode: 'opaque',
      },
    })
    expect(
      zitadelOptions({
        ...base,
        ZITADEL_CLIENT_ID: 'api',
        ZITADEL_CLIENT_SECRET: 's3cret',
        ZITADEL_INTROSPECT: 'always',
        ZITADEL_AUDIENCE_MODE: 'lenient',
      }),
    ).toMatchObject({
      audience: { mode: 'lenient', required: [PROJECT] },
      introspection: { auth: { method: 'client_secret_basic', clientId: 'api' }, mode: 'always' },
    })
  })

  it('names the variable that is missing or wrong', () => {
    expect(() => zitadelOptions({})).toThrow(EnvironmentError)
    expect(() => zitadelOptions({ ZITADEL_ISSUER: 'https://x.zitadel.cloud' })).toThrow(
      /ZITADEL_PROJECT_ID/,
    )
    const base = { ZITADEL_ISSUER: 'https://x.zitadel.cloud', ZITADEL_PROJECT_ID: PROJECT }
    expect(() => zitadelOptions({ ...base, ZITADEL_AUDIENCE_MODE: 'loose' })).toThrow(
      /ZITADEL_AUDIENCE_MODE/,
    )
    expect(() => zitadelOptions({ ...base, ZITADEL_CLIENT_ID: 'api' })).toThrow(
      /ZITADEL_CLIENT_SECRET/,
    )
  })
})

describe.skipIf(!built)('examples/zitadel server', () => {
  it('strict with the listed app ids; opaque tokens introspected with the key file', async () => {
    const keyFile = join(keyDir, 'api-key.json')
    writeFileSync(keyFile, JSON.stringify(issuer.introspectionClients.privateKeyJwt.keyFile))
    const { example, url } = await start('zitadel', {
      ZITADEL_ISSUER: issuer.issuer,
      ZITADEL_PROJECT_ID: PROJECT,
      ZITADEL_TRUSTED_IDS: WEB, // the mobile app is missing on purpose
      ZITADEL_KEY_FILE: keyFile,
    })
    expect((await get(`${url}/me`)).status).toBe(401)
    const web = await get(`${url}/me`, await token(['admin'], { apps: [WEB] }))
    expect(web.status).toBe(200)
    expect(web.body).toMatchObject({ source: 'jwt', roles: { admin: [ORG] } })
    // A token naming a sibling app nobody listed: strict says which.
    const sibling = await get(`${url}/me`, await token(['admin']))
    expect(sibling.status).toBe(401)
    expect(sibling.body).toMatchObject({
      code: 'untrusted_audience',
      error_description: expect.stringContaining(MOBILE),
    })
    const opaque = await get(
      `${url}/admin`,
      await token(['admin'], { format: 'opaque', apps: [WEB] }),
    )
    expect(opaque.status).toBe(200)
    expect(await example.stop('SIGINT')).toBe(0)
  }, 30_000)
})

/** The spans ConsoleSpanExporter printed (one `{ … }` block each), with what the tests read. */
function printedSpans(output: string) {
  return [...output.matchAll(/^\{\n([\s\S]*?)\n\}$/gm)]
    .map(([, block]) => block!)
    .filter((block) => block.includes('instrumentationScope'))
    .map((block) => ({
      name: /^ {2}name: '([^']*)'/m.exec(block)?.[1],
      traceId: /^ {2}traceId: '(\w+)'/m.exec(block)?.[1],
      id: /^ {2}id: '(\w+)'/m.exec(block)?.[1],
      parentId: /^ {2}parentSpanContext: \{[^}]*spanId: '(\w+)'/m.exec(block)?.[1],
      block,
    }))
}

const otelBuilt =
  built &&
  ['core/dist/opentelemetry.js', 'testing/dist/index.js'].every((file) =>
    existsSync(`${examplesDir}../packages/${file}`),
  )

describe.skipIf(!otelBuilt)('examples/opentelemetry', () => {
  it('--once: a span per authentication under its HTTP server span, no token; metrics on exit', async () => {
    const example = runExample('opentelemetry', 'server.ts', ['--once'])
    expect(await example.exited()).toBe(0)
    const output = example.output()
    expect(output).toContain('GET /me with a valid token: 200')
    expect(output).toContain('GET /me with no token: 401')
    expect(output).toContain('GET /admin with a token without the admin scope: 403')

    const spans = printedSpans(output)
    const servers = spans.filter((span) => span.name === 'GET')
    const tokenward = spans.filter((span) => span.name === 'tokenward.authenticate')
    // Four requests to the API; none for the local issuer's discovery and JWKS.
    expect(servers).toHaveLength(4)
    expect(tokenward).toHaveLength(4)
    for (const span of tokenward) {
      expect(span.traceId).toMatch(/^[0-9a-f]{32}$/)
      const parent = servers.find((server) => server.id === span.parentId)
      expect(parent?.traceId).toBe(span.traceId)
      expect(span.block).not.toMatch(/eyJ|enduser/)
    }
    expect(tokenward.map((span) => /'tokenward\.outcome': '(\w+)'/.exec(span.block)?.[1])).toEqual([
      'accepted',
      'accepted',
      'missing_token',
      'accepted',
    ])
    expect(tokenward[1]!.block).toContain("'tokenward.cache_hit': true")
    expect(output).not.toContain('eyJ') // no token anywhere: --once prints none

    for (const metric of [
      'tokenward.authentications',
      'tokenward.authentication.duration',
      'tokenward.guard.rejections',
      'tokenward.cache.lookups',
      'tokenward.upstream.request.duration',
      'tokenward.jwks.refreshes',
    ]) {
      expect(output).toContain(`name: '${metric}'`)
    }
  }, 30_000)

  it('serves a real issuer from ISSUER and AUDIENCE, and prints the metrics when stopped', async () => {
    const { example, url } = await start('opentelemetry', {
      ISSUER: issuer.issuer,
      AUDIENCE: [PROJECT, WEB, MOBILE].join(','),
    })
    const admin = await token(['admin'])
    expect((await get(`${url}/me`, admin)).status).toBe(200)
    expect((await get(`${url}/me`)).status).toBe(401)
    expect(await example.stop('SIGTERM')).toBe(0)

    const output = example.output()
    const [accepted, missing] = printedSpans(output).filter(
      (span) => span.name === 'tokenward.authenticate',
    )
    expect(accepted!.block).toContain(`'tokenward.issuer': '${issuer.issuer}'`)
    expect(missing!.block).toContain("'tokenward.outcome': 'missing_token'")
    expect(output).not.toContain(admin.split('.')[2]!)
    expect(output).toContain("'tokenward.upstream.target': 'discovery'")
    expect(output).toContain("name: 'tokenward.authentications'")
  }, 30_000)

  it('--once refuses an ISSUER of its own: it mints its tokens', async () => {
    const example = runExample('opentelemetry', 'server.ts', ['--once'], {
      ISSUER: 'https://issuer.example.com',
      AUDIENCE: 'api',
    })
    expect(await example.exited()).toBe(1)
    expect(example.output()).toContain('--once mints its own tokens: leave ISSUER unset')
  }, 30_000)
})
