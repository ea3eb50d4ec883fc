// The runtimes of the matrix: Node (the reference), Bun, Deno and workerd (Cloudflare Workers),
// each from its npm package (the binary ships inside it). Each runs servers/app.mjs from the
// built packages on 127.0.0.1 and says which port it listens on.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { builtinModules, createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('../../', import.meta.url))
const servers = fileURLToPath(new URL('./servers/', import.meta.url))
const require = createRequire(import.meta.url)

/** What a server needs to know: the test issuer and its introspection client. */
export interface ServerConfig {
  issuer: string
  jwksUri: string
  clientId: string
  clientSecret: string
}

export interface RunningServer {
  url: string
  close(): void
}

export interface Runtime {
  name: string
  /** Why it cannot run here, or undefined when it can. */
  unavailable(): string | undefined
  start(config: ServerConfig): Promise<RunningServer>
}

/** A server stops by itself at the latest after this long (a test run takes seconds). */
const LIFETIME_MS = 10 * 60_000
/** How long a runtime may take to listen. */
const START_MS = 30_000

/** The binary inside a package (its postinstall script put it there), or undefined. */
function packageBinary(packageName: string, path: string): string | undefined {
  try {
    const binary = join(dirname(require.resolve(`${packageName}/package.json`)), path)
    return existsSync(binary) ? binary : undefined
  } catch {
    return undefined
  }
}

/** Why `binary --version` does not run, or undefined when it does. */
function versionProblem(packageName: string, binary: string | undefined): string | undefined {
  if (binary === undefined) {
    return `the ${packageName} package or its binary is not installed (pnpm install; is "${packageName}" in pnpm.onlyBuiltDependencies?)`
  }
  const result = spawnSync(binary, ['--version'], { timeout: 20_000, encoding: 'utf8' })
  if (result.status === 0) return undefined
  const output = `${result.error?.message ?? ''} ${result.stderr}`.trim()
  return `${binary} --version failed: ${output || `exit status ${result.status}`}`
}

/**
 * Waits for `LISTENING <port>` on the child's stdout (or a `listen` event on workerd's control
 * pipe); rejects with the child's stderr if it exits or takes too long.
 */
function listening(child: ChildProcess, name: string, source: Readable): Promise<number> {
  return new Promise((resolve, reject) => {
    let stderr = ''
    let stdout = ''
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const fail = (why: string) => {
      clearTimeout(timer)
      reject(new Error(`${name} did not start: ${why}\n${stderr}`))
    }
    const timer = setTimeout(() => {
      fail(`no port after ${START_MS} ms`)
    }, START_MS)
    source.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      const port =
        /LISTENING (\d+)/.exec(stdout)?.[1] ??
        /"event":"listen","socket":"http","port":(\d+)/.exec(stdout)?.[1]
      if (port !== undefined) {
        clearTimeout(timer)
        resolve(Number(port))
      }
    })
    child.once('exit', (code, signal) => {
      fail(`exited (${code ?? signal})`)
    })
    child.once('error', (error) => {
      fail(error.message)
    })
  })
}

async function started(
  child: ChildProcess,
  name: string,
  source: Readable,
): Promise<RunningServer> {
  const port = await listening(child, name, source)
  return {
    url: `http://127.0.0.1:${port}`,
    close() {
      child.kill()
    },
  }
}

/** A runtime that runs `<binary> ...args <entry> <config>`; it exits when its stdin closes. */
function scriptRuntime(
  name: string,
  binary: () => string | undefined,
  problem: () => string | undefined,
  args: readonly string[],
  entry: string,
): Runtime {
  return {
    name,
    unavailable: problem,
    start(config) {
      const child = spawn(binary()!, [...args, join(servers, entry), JSON.stringify(config)], {
        cwd: root,
        env: { PATH: process.env.PATH, NO_COLOR: '1' },
        stdio: ['pipe', 'pipe', 'pipe'],
        timeout: LIFETIME_MS,
      })
      return started(child, name, child.stdout)
    },
  }
}

const bun = () => packageBinary('bun', 'bin/bun.exe')
const deno = () => packageBinary('deno', 'deno')
const workerd = () => packageBinary('workerd', 'bin/workerd')

/**
 * workerd serves a bundle, as wrangler builds one: esbuild with the worker conditions, Node's
 * modules left to the runtime (nodejs_compat, on by default from compatibility date 2026-08-04).
 * It reaches only 127.0.0.1 (its network service allows nothing else).
 */
async function startWorkerd(config: ServerConfig): Promise<RunningServer> {
  // Outside the repository: linters do not read .gitignore.
  const dir = mkdtempSync(join(tmpdir(), 'tokenward-workerd-'))
  await build({
    entryPoints: [join(servers, 'worker.mjs')],
    outfile: join(dir, 'worker.js'),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
    // tsup writes Node's modules without the node: prefix; workerd has both spellings.
    external: ['node:*', ...builtinModules],
    logLevel: 'silent',
  })
  writeFileSync(
    join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "loopback", network = (allow = ["127.0.0.1/32"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "${WORKERD_COMPATIBILITY_DATE}",
  bindings = [(name = "CONFIG", text = ${JSON.stringify(JSON.stringify(config))})],
  globalOutbound = "loopback",
);
`,
  )
  const child = spawn(workerd()!, ['serve', 'config.capnp', '--control-fd=3'], {
    cwd: dir,
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    timeout: LIFETIME_MS,
  })
  child.once('exit', () => {
    rmSync(dir, { recursive: true, force: true })
  })
  return started(child, 'workerd', child.stdio[3] as Readable)
}

export const WORKERD_COMPATIBILITY_DATE = '2026-11-01'

export const RUNTIMES: readonly Runtime[] = [
  scriptRuntime(
    'node',
    () => process.execPath,
    () => undefined,
    [],
    'node.mjs',
  ),
  scriptRuntime('bun', bun, () => versionProblem('bun', bun()), [], 'bun.mjs'),
  scriptRuntime(
    'deno',
    deno,
    () => versionProblem('deno', deno()),
    // The servers read the built packages and node_modules, and talk to 127.0.0.1 only.
    ['run', '--quiet', '--no-lock', '--allow-read', '--allow-net=127.0.0.1'],
    'deno.mjs',
  ),
  {
    name: 'workerd',
    unavailable: () => versionProblem('workerd', workerd()),
    start: startWorkerd,
  },
]

/** The built packages the servers load (`pnpm build`). */
export function unbuilt(): string[] {
  return ['core', 'hono']
    .map((name) => `packages/${name}/dist/index.js`)
    .filter((path) => !existsSync(join(root, path)))
}
