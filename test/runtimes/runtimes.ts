// The runtimes of the matrix: Node (the reference), Bun, Deno and workerd (Cloudflare Workers,
// with nodejs_compat and without), each from its npm package (the binary ships inside it). Each
// runs servers/app.mjs on 127.0.0.1 and says which port it listens on. The servers import the
// built packages by name from a scratch project (see `scratchProject`), so each runtime loads
// the build that @tokenward/core's exports conditions give it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { builtinModules, createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, sep } from 'node:path'
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
  /**
   * The @tokenward/core file the server loaded (its path from the repository root): where the
   * runtime resolves it (Node, Bun, Deno), or what the bundle holds (workerd).
   */
  core: string
  close(): void
}

export interface Runtime {
  name: string
  /** The @tokenward/core build it must load: the Node build or the Web build. */
  build: 'node' | 'web'
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

/** A path from the repository root, with `/` separators. */
const fromRoot = (path: string): string =>
  realpathSync(path).slice(realpathSync(root).length).split(sep).join('/').replace(/^\//, '')

/**
 * The server once it listens. Its scratch folder `dir` is removed when it exits, and when it is
 * closed (the test process may end before the exit is reported).
 */
async function started(
  child: ChildProcess,
  name: string,
  source: Readable,
  dir: string,
  core: (url: string) => Promise<string>,
): Promise<RunningServer> {
  const remove = () => {
    rmSync(dir, { recursive: true, force: true })
  }
  child.once('exit', remove)
  const close = () => {
    child.kill()
    remove()
  }
  try {
    const port = await listening(child, name, source)
    const url = `http://127.0.0.1:${port}`
    return { url, core: await core(url), close }
  } catch (error) {
    close()
    throw error
  }
}

/** Where the server resolved @tokenward/core (its `/build` route). */
async function resolvedCore(url: string): Promise<string> {
  const { core } = (await (await fetch(`${url}/build`)).json()) as { core: string }
  return fromRoot(fileURLToPath(core))
}

/**
 * A project as a user's would be: the server scripts, a package.json, and node_modules linking
 * the built @tokenward/core and @tokenward/hono (and hono, @hono/node-server) by name. Outside
 * the repository, in the system's temporary folder (linters do not read .gitignore).
 */
function scratchProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tokenward-runtimes-'))
  for (const file of readdirSync(servers)) copyFileSync(join(servers, file), join(dir, file))
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'tokenward-runtime-matrix', private: true, type: 'module' }),
  )
  const links: Record<string, string> = {
    '@tokenward/core': join(root, 'packages/core'),
    '@tokenward/hono': join(root, 'packages/hono'),
    hono: join(root, 'node_modules/hono'),
    '@hono/node-server': join(root, 'node_modules/@hono/node-server'),
  }
  for (const [name, target] of Object.entries(links)) {
    const link = join(dir, 'node_modules', name)
    mkdirSync(dirname(link), { recursive: true })
    symlinkSync(target, link, 'dir')
  }
  return dir
}

/**
 * A runtime that runs `<binary> ...args <entry> <config>` in a scratch project; it exits when
 * its stdin closes.
 */
function scriptRuntime(
  name: string,
  binary: () => string | undefined,
  problem: () => string | undefined,
  args: readonly string[],
  entry: string,
): Runtime {
  return {
    name,
    build: 'node',
    unavailable: problem,
    start(config) {
      const dir = scratchProject()
      const child = spawn(binary()!, [...args, join(dir, entry), JSON.stringify(config)], {
        cwd: dir,
        env: { PATH: process.env.PATH, NO_COLOR: '1' },
        stdio: ['pipe', 'pipe', 'pipe'],
        timeout: LIFETIME_MS,
      })
      return started(child, name, child.stdout, dir, resolvedCore)
    },
  }
}

const bun = () => packageBinary('bun', 'bin/bun.exe')
const deno = () => packageBinary('deno', 'deno')
const workerd = () => packageBinary('workerd', 'bin/workerd')

export const WORKERD_COMPATIBILITY_DATE = '2026-11-01'

/**
 * workerd serves a bundle, as wrangler builds one: esbuild with the worker conditions (so
 * @tokenward/core's Web build). With `nodejsCompat` (on by default from compatibility date
 * 2026-08-04), Node's modules are left to the runtime, as wrangler does; without it (the
 * `no_nodejs_compat` flags) the runtime has no Node module, `process` or `Buffer` at all, and
 * the bundle may import none. It reaches only 127.0.0.1 (its network service allows nothing else).
 */
function workerdRuntime(name: string, nodejsCompat: boolean): Runtime {
  return {
    name,
    build: 'web',
    unavailable: () => versionProblem('workerd', workerd()),
    start: (config) => startWorkerd(name, config, nodejsCompat),
  }
}

async function startWorkerd(
  name: string,
  config: ServerConfig,
  nodejsCompat: boolean,
): Promise<RunningServer> {
  const dir = scratchProject()
  let bundled: string[]
  try {
    const { metafile } = await build({
      entryPoints: [join(dir, 'worker.mjs')],
      outfile: join(dir, 'worker.js'),
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      conditions: ['workerd', 'worker', 'browser'],
      mainFields: ['browser', 'module', 'main'],
      // tsup writes Node's modules without the node: prefix; workerd has both spellings.
      external: nodejsCompat ? ['node:*', ...builtinModules] : [],
      metafile: true,
      logLevel: 'silent',
    })
    bundled = Object.keys(metafile.inputs)
      .map((input) => fromRoot(join(process.cwd(), input)))
      .filter((input) => input.startsWith('packages/core/'))
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  return serveWorker(dir, name, config, nodejsCompat, bundled.join(', '))
}

/**
 * Serves `dir`/worker.js with workerd (the folder is removed when it exits or is closed). `core` is
 * what the bundle holds of @tokenward/core.
 */
export function serveWorker(
  dir: string,
  name: string,
  config: object,
  nodejsCompat: boolean,
  core = '',
): Promise<RunningServer> {
  writeFileSync(join(dir, 'config.capnp'), workerdConfig(config, nodejsCompat))
  const child = spawn(workerd()!, ['serve', 'config.capnp', '--control-fd=3'], {
    cwd: dir,
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    timeout: LIFETIME_MS,
  })
  return started(child, name, child.stdio[3] as Readable, dir, () => Promise.resolve(core))
}

/** workerd's configuration: one worker from worker.js, its CONFIG binding, only 127.0.0.1 out. */
function workerdConfig(config: object, nodejsCompat: boolean): string {
  const flags = nodejsCompat
    ? ''
    : 'compatibilityFlags = ["no_nodejs_compat", "no_nodejs_compat_v2"],\n  '
  return `using Workerd = import "/workerd/workerd.capnp";
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
  ${flags}bindings = [(name = "CONFIG", text = ${JSON.stringify(JSON.stringify(config))})],
  globalOutbound = "loopback",
);
`
}

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
  workerdRuntime('workerd', true),
  workerdRuntime('workerd (no nodejs_compat)', false),
]

/** The built packages the servers load (`pnpm build`). */
export function unbuilt(): string[] {
  return ['core/dist/index.js', 'core/dist/web/index.js', 'hono/dist/index.js']
    .map((path) => `packages/${path}`)
    .filter((path) => !existsSync(join(root, path)))
}
