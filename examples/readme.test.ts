// The root README's code, run as pasted. Each framework quickstart's `server.mjs` is written into
// a gitignored .tmp folder of the example package (Hono: of packages/hono) so that
// `@tokenward/<name>` and the framework resolve from that package's dependencies, to the built
// dist/; it is started with plain `node` against the harness's OpenID Provider and asked over
// HTTP. The "Testing your API" examples run with Vitest and with Jest (in its ESM mode, as the
// README says) in a scratch folder whose node_modules link the built packages. The issuer
// quickstarts' options, with the placeholders filled in, meet tokens of each issuer's shape from
// @tokenward/testing.
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { runInNewContext } from 'node:vm'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createValidator, type ValidatorOptions } from '@tokenward/core'
import { keycloak, startIssuer as startLocalIssuer } from '@tokenward/testing'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startIssuer, zitadelShape, type TestIssuer } from '../test/support/issuer.js'
import { built, examplesDir, freePort, get, killAll, runExample } from './support.js'

const PROJECT = '170086774599581953'
const ORG = '170086363054473473'
const root = fileURLToPath(new URL('../', import.meta.url))
const readme = readFileSync(`${root}README.md`, 'utf8')
/** README heading → the folder (relative to examples/) whose dependencies the server uses. */
const frameworks = {
  Express: 'express',
  Koa: 'koa',
  Fastify: 'fastify',
  Hono: '../packages/hono',
} as const
const honoBuilt = existsSync(`${root}packages/hono/dist/index.js`)
const testingBuilt = existsSync(`${root}packages/testing/dist/index.js`)

/** The first block of `language` under `### <heading>`, after the README's `## Quickstart`. */
function quickstart(heading: string, language = 'js'): string {
  const section = readme.slice(readme.indexOf('## Quickstart'))
  const start = section.indexOf(`### ${heading}\n`)
  if (start < 0) throw new Error(`no "### ${heading}" in README.md`)
  const match = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(section.slice(start))
  if (match?.[1] === undefined) throw new Error(`no ${language} block under "### ${heading}"`)
  return match[1]
}

/** The `index`-th block of `language` in the README's `## <heading>` section. */
function blockIn(heading: string, language: string, index: number): string {
  const start = readme.indexOf(`\n## ${heading}\n`)
  if (start < 0) throw new Error(`no "## ${heading}" in README.md`)
  const end = readme.indexOf('\n## ', start + 1)
  const section = readme.slice(start, end < 0 ? undefined : end)
  const blocks = [...section.matchAll(new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, 'g'))]
  const code = blocks[index]?.[1]
  if (code === undefined) throw new Error(`no ${language} block ${index} in "## ${heading}"`)
  return code
}

let issuer: TestIssuer
const created: string[] = []

/** A fresh folder that afterAll removes (and its parent when left empty). */
function scratch(dir: string): string {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  created.push(dir)
  return dir
}

beforeAll(async () => {
  if (built) issuer = await startIssuer()
})
afterAll(async () => {
  killAll()
  // Linters do not read .gitignore: leave no copy behind.
  for (const dir of created) {
    rmSync(dir, { recursive: true, force: true })
    if (existsSync(dirname(dir)) && readdirSync(dirname(dir)).length === 0) {
      rmSync(dirname(dir), { recursive: true })
    }
  }
  if (built) await issuer.close()
})

async function token(roles: string[]): Promise<string> {
  const shape = zitadelShape({
    projectId: PROJECT,
    clientIds: ['170086824411201793@shop', '209806276543185153@shop'],
    clientId: '170086824411201793@shop',
    roles: Object.fromEntries(roles.map((role) => [role, { [ORG]: 'acme.example' }])),
  })
  return (await issuer.issueToken(shape)).token
}

describe.skipIf(!built || !honoBuilt).each(Object.entries(frameworks))(
  'README quickstart: %s',
  (heading, folder) => {
    it('runs as pasted: 401 without a token, 200 with one, 403 without the role', async () => {
      const cwd = `${folder}/.tmp/readme-quickstart`
      writeFileSync(`${scratch(`${examplesDir}${cwd}`)}/server.mjs`, quickstart(heading))
      const port = await freePort()
      const server = runExample(
        cwd,
        'server.mjs',
        [],
        { ISSUER: issuer.issuer, PROJECT_ID: PROJECT, PORT: String(port) },
        { tsx: false },
      )
      await server.waitFor(new RegExp(`listening on http://127\\.0\\.0\\.1:${port}`))
      const url = `http://127.0.0.1:${port}`

      const none = await get(`${url}/me`)
      expect(none.status).toBe(401)
      expect(none.challenge).toBe('Bearer realm="api"')
      const admin = await token(['admin'])
      expect(await get(`${url}/me`, admin)).toMatchObject({
        status: 200,
        body: { subject: issuer.tokenClient.clientId, roles: { admin: [ORG] } },
      })
      expect((await get(`${url}/admin`, admin)).status).toBe(200)
      expect(await get(`${url}/admin`, await token(['reader']))).toMatchObject({
        status: 403,
        body: { code: 'insufficient_role' },
      })
      await server.stop('SIGKILL')
    }, 30_000)
  },
)

/** A project folder with the packages the testing examples import, linked to the built ones. */
function testProject(name: string): string {
  const dir = scratch(`${root}.tmp/${name}`)
  mkdirSync(`${dir}/node_modules/@tokenward`, { recursive: true })
  for (const pkg of ['express', 'testing']) {
    symlinkSync(`${root}packages/${pkg}`, `${dir}/node_modules/@tokenward/${pkg}`, 'dir')
  }
  const fromExpress = createRequire(`${root}packages/express/package.json`)
  symlinkSync(dirname(fromExpress.resolve('express/package.json')), `${dir}/node_modules/express`)
  writeFileSync(`${dir}/package.json`, '{ "private": true, "type": "module" }\n')
  return dir
}

describe.skipIf(!built || !testingBuilt)('README: Testing your API', () => {
  it('the Vitest example passes under Vitest', async () => {
    const dir = testProject('readme-testing-vitest')
    writeFileSync(`${dir}/api.test.ts`, blockIn('Testing your API', 'ts', 0))
    writeFileSync(`${dir}/vitest.config.mjs`, 'export default {}\n')
    const vitest = `${root}node_modules/vitest/vitest.mjs`
    const run = runExample(`../.tmp/readme-testing-vitest`, vitest, ['run'], {}, { tsx: false })
    const code = await run.exited()
    expect(run.output()).toMatch(/Tests +1 passed \(1\)/)
    expect(code, run.output()).toBe(0)
  }, 60_000)

  it('the Jest example passes under Jest in its ESM mode, with the README command', async () => {
    expect(blockIn('Testing your API', 'sh', 0)).toBe(
      'NODE_OPTIONS=--experimental-vm-modules npx jest\n',
    )
    const dir = testProject('readme-testing-jest')
    writeFileSync(`${dir}/api.test.js`, blockIn('Testing your API', 'js', 0))
    const fromTesting = createRequire(`${root}packages/testing/package.json`)
    const jest = `${dirname(fromTesting.resolve('jest/package.json'))}/bin/jest.js`
    const run = runExample(
      `../.tmp/readme-testing-jest`,
      jest,
      ['--ci', '--no-watchman', '--rootDir', dir],
      { NODE_OPTIONS: '--experimental-vm-modules' },
      { tsx: false },
    )
    const code = await run.exited()
    expect(run.output()).toMatch(/Tests: +1 passed, 1 total/)
    expect(code, run.output()).toBe(0)
  }, 60_000)
})

/**
 * The options of the first js block under `### <heading>` of the README's `## Issuers`, with
 * `replacements` applied to its text (a placeholder or an issuer URL → a value for the test).
 */
function issuerOptions(heading: string, replacements: Record<string, string>): ValidatorOptions {
  const issuers = readme.slice(readme.indexOf('\n## Issuers\n'))
  const section = issuers.slice(issuers.indexOf(`\n### ${heading}\n`))
  let code = /```js\n([\s\S]*?)```/.exec(section)?.[1]
  if (code === undefined) throw new Error(`no js block under "### ${heading}"`)
  for (const [from, to] of Object.entries(replacements)) {
    expect(code).toContain(from)
    code = code.replaceAll(from, to)
  }
  // The block is a `tokenward({ ... })` call: run it with a tokenward that returns its options.
  return runInNewContext(code, {
    tokenward: (options: ValidatorOptions) => options,
  }) as ValidatorOptions
}

/** The claims of a JWT, unverified. */
function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as Record<
    string,
    unknown
  >
}

describe('README: the issuer quickstarts', () => {
  it('Keycloak: no aud without the audience mapper (401 invalid_audience); with it, roles read', async () => {
    const local = await startLocalIssuer({ issuerPath: '/realms/acme' })
    const options = issuerOptions('Keycloak', {
      'https://keycloak.example.com/realms/acme': local.issuer,
    })
    const validator = createValidator({ ...options, logger: false })
    try {
      const roles = { realmRoles: ['user'], clientRoles: { 'orders-api': ['admin'] } }
      const unmapped = await local.mint({}, { shape: keycloak(roles) })
      expect(claimsOf(unmapped).aud).toBeUndefined()
      await expect(validator.authenticate(`Bearer ${unmapped}`)).rejects.toMatchObject({
        code: 'invalid_audience',
        status: 401,
      })
      const mapped = await local.mint(
        {},
        { shape: keycloak({ ...roles, audience: ['orders-api', 'account'] }) },
      )
      const auth = await validator.authenticate(`Bearer ${mapped}`, { roles: ['admin', 'user'] })
      expect(Object.keys(auth.roles).sort()).toEqual(['admin', 'user'])
    } finally {
      await validator.close()
      await local.close()
    }
  })

  it('Entra ID: v2 issuer, the API application id as aud, app roles and scp scopes', async () => {
    const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47'
    const api = '6e74172b-be56-4843-9ff4-e66a39bb12e3'
    const local = await startLocalIssuer({ issuerPath: `/${tenant}/v2.0` })
    const options = issuerOptions('Entra ID (Azure AD)', {
      'https://login.microsoftonline.com/<tenant id>/v2.0': local.issuer,
      '<the API application (client) id>': api,
    })
    const validator = createValidator({ ...options, logger: false })
    try {
      const token = await local.mint(
        { aud: api, tid: tenant, azp: 'spa', client_id: undefined, ver: '2.0' },
        { header: { typ: 'JWT' } },
      )
      const withRoles = await local.mint(
        { aud: api, tid: tenant, roles: ['Orders.Admin'], scp: 'Orders.Read User.Read' },
        { header: { typ: 'JWT' } },
      )
      const auth = await validator.authenticate(`Bearer ${withRoles}`, {
        roles: ['Orders.Admin'],
        scopes: ['Orders.Read'],
      })
      expect(auth.scopes).toEqual(['Orders.Read', 'User.Read'])
      await expect(
        validator.authenticate(`Bearer ${token}`, { roles: ['Orders.Admin'] }),
      ).rejects.toMatchObject({ code: 'insufficient_role', status: 403 })
    } finally {
      await validator.close()
      await local.close()
    }
  })

  it('Auth0: the issuer keeps its trailing slash, and start-up has nothing to warn about', async () => {
    const logger = { warn: vi.fn(), error: vi.fn() }
    const validator = createValidator({ ...issuerOptions('Auth0', {}), logger })
    expect(logger.warn).not.toHaveBeenCalled()
    await validator.close()
  })
})
