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
import { built, examplesDir, get, killAll, runExample } from './support.js'
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
  options: { format?: 'jwt' | 'opaque'; apps?: string[] } = {},
): Promise<string> {
  const apps = options.apps ?? [WEB, MOBILE]
  const shape = zitadelShape({
    projectId: PROJECT,
    clientIds: apps,
    clientId: apps[0]!,
    roles: Object.fromEntries(roles.map((role) => [role, { [ORG]: 'acme.example' }])),
  })
  const request: IssueTokenOptions = { ...shape, format: options.format ?? 'jwt' }
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
