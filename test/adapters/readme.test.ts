// The example of each adapter's README, run as its users would: copied into the package (a
// gitignored .tmp folder, so `@tokenward/<name>` resolves to the built package by its own name),
// started with plain `node` against a real OpenID Provider, and asked over HTTP. It runs the
// built dist/ (`pnpm test` builds first); without a build it is skipped.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { createServer } from 'node:net'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startIssuer, zitadelShape, type TestIssuer } from '../support/issuer.js'
import { ORG, PROJECT, get } from './apps.js'

const packages = ['express', 'koa', 'fastify', 'hono'] as const
const packageDir = (name: string) =>
  fileURLToPath(new URL(`../../packages/${name}/`, import.meta.url))
const built = ['core', ...packages].every((name) => existsSync(`${packageDir(name)}dist/index.js`))

/** The first js code block after "## Example". */
function example(name: string): string {
  const readme = readFileSync(`${packageDir(name)}README.md`, 'utf8')
  const section = readme.slice(readme.indexOf('## Example'))
  const match = /```js\n([\s\S]*?)```/.exec(section)
  if (match?.[1] === undefined) throw new Error(`no example in packages/${name}/README.md`)
  return match[1]
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

let issuer: TestIssuer
let admin: string
let editor: string
const children: ChildProcess[] = []
const created: string[] = []

beforeAll(async () => {
  if (!built) return
  issuer = await startIssuer()
  const token = async (roles: Record<string, Record<string, string>>, scope?: string) => {
    const shape = zitadelShape({ projectId: PROJECT, roles })
    return (await issuer.issueToken({ ...shape, ...(scope === undefined ? {} : { scope }) })).token
  }
  ;[admin, editor] = await Promise.all([
    token({ admin: { [ORG]: 'acme.example' } }),
    token({ editor: { [ORG]: 'acme.example' } }, 'reports:read'),
  ])
})

afterAll(async () => {
  for (const child of children) child.kill()
  // Linters do not read .gitignore: leave no copy behind.
  for (const dir of created) {
    rmSync(dir, { recursive: true, force: true })
    if (readdirSync(dirname(dir)).length === 0) rmSync(dirname(dir), { recursive: true })
  }
  if (built) await issuer.close()
})

describe.skipIf(!built).each(packages)('packages/%s/README.md example', (name) => {
  let url: string

  beforeAll(async () => {
    const dir = `${packageDir(name)}.tmp/readme-example`
    mkdirSync(dir, { recursive: true })
    writeFileSync(`${dir}/server.mjs`, example(name))
    created.push(dir)
    const port = await freePort()
    url = `http://127.0.0.1:${port}`
    const child = spawn(process.execPath, ['server.mjs'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        ZITADEL_ISSUER: issuer.issuer,
        ZITADEL_PROJECT_ID: PROJECT,
        PORT: String(port),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    children.push(child)
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    for (let attempt = 0; ; attempt += 1) {
      try {
        await fetch(url)
        return
      } catch (error) {
        if (child.exitCode !== null || attempt >= 100) {
          throw new Error(`the example did not start: ${stderr}`, { cause: error })
        }
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
  })

  it('answers 401 with the bare challenge without a token', async () => {
    const answer = await get(`${url}/me`)
    expect(answer.status).toBe(401)
    expect(answer.headers['www-authenticate']).toBe('Bearer realm="api"')
  })

  it('serves the token holder and applies the guards', async () => {
    const me = await get(`${url}/me`, `Bearer ${admin}`)
    expect(me.status).toBe(200)
    expect(me.body).toEqual({ subject: issuer.tokenClient.clientId, roles: { admin: [ORG] } })
    expect((await get(`${url}/admin`, `Bearer ${admin}`)).status).toBe(200)
    expect((await get(`${url}/admin`, `Bearer ${editor}`)).status).toBe(403)
    expect((await get(`${url}/reports`, `Bearer ${admin}`)).status).toBe(403)
    expect((await get(`${url}/reports`, `Bearer ${editor}`)).status).toBe(200)
    expect((await get(`${url}/review`, `Bearer ${editor}`)).status).toBe(200)
  })
})
