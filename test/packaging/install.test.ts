// The README's install path for today, end to end: pack the packages' tarballs with the
// README's command, `npm install` them (plus express from the npm registry) in an empty project
// under the system's temporary folder, serve the README's Express Quickstart from it with plain
// `node`, and ask it over HTTP with a token from a real OpenID Provider. The CLI comes from its
// tarball too. Needs the build (`pnpm build`) and the npm registry; nothing else from outside.
import { spawn } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, get } from '../../examples/support.js'
import { startIssuer, zitadelShape, type TestIssuer } from '../support/issuer.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const PROJECT = '170086774599581953'
const ORG = '170086363054473473'
/** The packages whose tarballs the project installs: the Quickstart's, and the CLI. */
const INSTALLED = ['core', 'express', 'cli'] as const
/** The npm install can take a while on a cold cache; everything else takes seconds. */
const INSTALL_TIMEOUT_MS = 150_000

interface Finished {
  readonly status: number | null
  readonly out: string
  readonly err: string
}

/**
 * The environment for npm and node in the scratch project: this process's, less what pnpm sets
 * for its own scripts (npm_config_*, npm_package_*), with a cache of the test's own.
 */
function cleanEnv(cache: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(npm_|pnpm_)/i.test(name)),
  )
  return {
    ...env,
    npm_config_cache: cache,
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    NO_COLOR: '1',
  }
}

/** Runs a command to its end; kills it after `timeoutMs`. */
function execute(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(
        new Error(
          `${command} ${args.join(' ')}: no end after ${options.timeoutMs} ms\n${out}${err}`,
        ),
      )
    }, options.timeoutMs)
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once('close', (status) => {
      clearTimeout(timer)
      resolve({ status, out, err })
    })
  })
}

/** The README's first js block that uses @tokenward/express: the Express Quickstart. */
function expressQuickstart(): string {
  const quickstart = readme.slice(readme.indexOf('## Quickstart'))
  const block = [...quickstart.matchAll(/```js\n([\s\S]*?)```/g)]
    .map((match) => match[1] ?? '')
    .find((code) => code.includes("from '@tokenward/express'"))
  if (block === undefined) throw new Error('no Express Quickstart in README.md')
  return block
}

let work: string
let tarballs: string
let app: string
let env: NodeJS.ProcessEnv
let issuer: TestIssuer | undefined
let server: ReturnType<typeof spawn> | undefined
let version: string

beforeAll(async () => {
  const missing = INSTALLED.filter((name) => !existsSync(join(root, `packages/${name}/dist`)))
  if (missing.length > 0)
    throw new Error(`build first (pnpm build): no dist/ in ${missing.join(', ')}`)
  version = (
    JSON.parse(readFileSync(join(root, 'packages/core/package.json'), 'utf8')) as {
      version: string
    }
  ).version
  work = mkdtempSync(join(tmpdir(), 'tokenward-install-'))
  tarballs = join(work, 'tarballs')
  app = join(work, 'app')
  env = cleanEnv(join(work, 'npm-cache'))
  issuer = await startIssuer()
})

afterAll(async () => {
  server?.kill('SIGKILL')
  await issuer?.close()
  rmSync(work, { recursive: true, force: true })
})

describe('installing the packed tarballs with npm (README: Install)', () => {
  it('packs every package with the README command; each tarball ships LICENSE', async () => {
    const command = 'pnpm -r --filter "./packages/*" pack --pack-destination'
    expect(readme).toContain(`${command} ~/tokenward-tarballs\n`)
    const packed = await execute(
      'pnpm',
      ['-r', '--filter', './packages/*', 'pack', '--pack-destination', tarballs],
      { cwd: root, timeoutMs: 60_000 },
    )
    expect(packed.status, packed.err).toBe(0)

    const published = readdirSync(join(root, 'packages')).filter(
      (name) =>
        !(
          JSON.parse(readFileSync(join(root, `packages/${name}/package.json`), 'utf8')) as {
            private?: boolean
          }
        ).private,
    )
    expect(readdirSync(tarballs).sort()).toEqual(
      published.map((name) => `tokenward-${name}-${version}.tgz`).sort(),
    )
    const license = readFileSync(join(root, 'LICENSE'), 'utf8')
    for (const name of published) {
      const listing = await execute('tar', ['-tzf', `tokenward-${name}-${version}.tgz`], {
        cwd: tarballs,
        timeoutMs: 10_000,
      })
      // What a user gets besides the build: the licence, the README and the manifest.
      const files = listing.out.trim().split('\n')
      expect(files.filter((file) => !file.startsWith('package/dist/')).sort(), name).toEqual([
        'package/LICENSE',
        'package/README.md',
        'package/package.json',
      ])
      const extracted = await execute(
        'tar',
        ['-xzOf', `tokenward-${name}-${version}.tgz`, 'package/LICENSE'],
        { cwd: tarballs, timeoutMs: 10_000 },
      )
      expect(extracted.out === license, `${name}: LICENSE differs from the root's`).toBe(true)
    }
  }, 90_000)

  it(
    "installs core, express and cli from the tarballs and express from npm, with the README's command",
    async () => {
      const files = INSTALLED.map((name) => `~/tokenward-tarballs/tokenward-${name}-${version}.tgz`)
      expect(readme).toContain(`npm install ${files[0]} ${files[1]} express\n`)
      expect(readme).toContain(`npm install -D ${files[2]}`)

      mkdirSync(app)
      writeFileSync(
        join(app, 'package.json'),
        `${JSON.stringify({ name: 'scratch-api', private: true }, null, 2)}\n`,
      )
      const local = (name: string) => join(tarballs, `tokenward-${name}-${version}.tgz`)
      const started = Date.now()
      const dependencies = await execute(
        'npm',
        ['install', local('core'), local('express'), 'express'],
        { cwd: app, env, timeoutMs: INSTALL_TIMEOUT_MS },
      )
      expect(dependencies.status, dependencies.err).toBe(0)
      const cli = await execute('npm', ['install', '-D', local('cli')], {
        cwd: app,
        env,
        timeoutMs: INSTALL_TIMEOUT_MS,
      })
      expect(cli.status, cli.err).toBe(0)
      console.info(`npm install (two commands): ${Date.now() - started} ms`)

      const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as {
        dependencies: Record<string, string>
        devDependencies: Record<string, string>
      }
      expect(Object.keys(manifest.dependencies).sort()).toEqual([
        '@tokenward/core',
        '@tokenward/express',
        'express',
      ])
      expect(manifest.devDependencies['@tokenward/cli']).toMatch(/^file:/)
      // One core: the adapter's dependency is the tarball's, not a second copy.
      expect(existsSync(join(app, 'node_modules/@tokenward/express/node_modules'))).toBe(false)
      const installed = JSON.parse(
        readFileSync(join(app, 'node_modules/@tokenward/express/package.json'), 'utf8'),
      ) as { dependencies: Record<string, string>; repository: { directory: string } }
      expect(installed.dependencies['@tokenward/core']).toBe(`^${version}`)
      expect(installed.repository.directory).toBe('packages/express')
    },
    INSTALL_TIMEOUT_MS * 2 + 10_000,
  )

  it('serves the Express Quickstart: 401 missing_token without a token, 200 with one', async () => {
    expect(issuer).toBeDefined()
    if (issuer === undefined) return
    writeFileSync(join(app, 'server.mjs'), expressQuickstart())
    const port = await freePort()
    const child = spawn(process.execPath, ['server.mjs'], {
      cwd: app,
      env: { ...env, ISSUER: issuer.issuer, PROJECT_ID: PROJECT, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    server = child
    let output = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`the Quickstart did not start within 15 s:\n${output}`))
      }, 15_000)
      const append = (chunk: Buffer) => {
        output += chunk.toString()
        if (output.includes(`listening on http://127.0.0.1:${port}`)) {
          clearTimeout(timer)
          resolve()
        }
      }
      child.stdout.on('data', append)
      child.stderr.on('data', append)
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`the Quickstart exited (${String(code)}):\n${output}`))
      })
    })
    const url = `http://127.0.0.1:${port}`

    expect(await get(`${url}/me`)).toMatchObject({
      status: 401,
      challenge: 'Bearer realm="api"',
      body: { code: 'missing_token' },
    })
    const { token } = await issuer.issueToken(
      zitadelShape({
        projectId: PROJECT,
        clientIds: ['170086824411201793@shop'],
        clientId: '170086824411201793@shop',
        roles: { admin: { [ORG]: 'acme.example' } },
      }),
    )
    expect(await get(`${url}/me`, token)).toEqual({
      status: 200,
      challenge: null,
      body: { subject: issuer.tokenClient.clientId, roles: { admin: [ORG] } },
    })
    expect(await get(`${url}/admin`, token)).toMatchObject({ status: 200 })
  }, 30_000)

  it('runs the installed CLI: npx tokenward --version, and inspect on the same token', async () => {
    expect(issuer).toBeDefined()
    if (issuer === undefined) return
    const npx = (args: string[]) =>
      execute('npx', ['--no-install', 'tokenward', ...args], { cwd: app, env, timeoutMs: 30_000 })
    expect(await npx(['--version'])).toEqual({ status: 0, out: `${version}\n`, err: '' })

    const { token } = await issuer.issueToken({ audience: [PROJECT] })
    const inspected = await npx([
      'inspect',
      token,
      '--issuer',
      issuer.issuer,
      '--audience',
      PROJECT,
    ])
    expect(inspected.status, inspected.out + inspected.err).toBe(0)
    expect(inspected.out.trimEnd().split('\n').at(-1)).toBe('valid')
  }, 60_000)

  it('loads the installed packages from CommonJS too', async () => {
    const loaded = await execute(
      process.execPath,
      [
        '-e',
        "const core = require('@tokenward/core'); const express = require('@tokenward/express');" +
          'console.log(typeof core.createValidator, typeof express.tokenward)',
      ],
      { cwd: app, env, timeoutMs: 15_000 },
    )
    expect(loaded).toEqual({ status: 0, out: 'function function\n', err: '' })
  })
})
