// The root README's quickstarts, run as pasted: each `server.mjs` is written into the matching
// example package (a gitignored .tmp folder, so `@tokenward/<name>` and the framework resolve
// from that package's dependencies, to the built dist/), started with plain `node` against the
// harness's OpenID Provider, and asked over HTTP.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startIssuer, zitadelShape, type TestIssuer } from '../test/support/issuer.js'
import { built, examplesDir, freePort, get, killAll, runExample } from './support.js'

const PROJECT = '170086774599581953'
const ORG = '170086363054473473'
const frameworks = { express: 'Express', koa: 'Koa', fastify: 'Fastify' } as const

/** The first js block under `### <heading>` in the README's Quickstart section. */
function quickstart(heading: string): string {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const section = readme.slice(readme.indexOf('## Quickstart'))
  const sub = section.slice(section.indexOf(`### ${heading}\n`))
  const match = /```js\n([\s\S]*?)```/.exec(sub)
  if (match?.[1] === undefined) throw new Error(`no "### ${heading}" quickstart in README.md`)
  return match[1]
}

let issuer: TestIssuer
const created: string[] = []

beforeAll(async () => {
  if (built) issuer = await startIssuer()
})
afterAll(async () => {
  killAll()
  // Linters do not read .gitignore: leave no copy behind.
  for (const dir of created) {
    rmSync(dir, { recursive: true, force: true })
    if (readdirSync(dirname(dir)).length === 0) rmSync(dirname(dir), { recursive: true })
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

describe.skipIf(!built).each(Object.entries(frameworks))(
  'README quickstart: %s',
  (name, heading) => {
    it('runs as pasted: 401 without a token, 200 with one, 403 without the role', async () => {
      const dir = `${examplesDir}${name}/.tmp/readme-quickstart`
      mkdirSync(dir, { recursive: true })
      created.push(dir)
      writeFileSync(`${dir}/server.mjs`, quickstart(heading))
      const port = await freePort()
      const server = runExample(
        `${name}/.tmp/readme-quickstart`,
        'server.mjs',
        [],
        {
          ISSUER: issuer.issuer,
          PROJECT_ID: PROJECT,
          PORT: String(port),
        },
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
      expect((await get(`${url}/admin`, await token(['reader']))).body).toMatchObject({
        code: 'insufficient_role',
      })
      await server.stop('SIGKILL')
    }, 30_000)
  },
)
