// A real `redis-server` child process on 127.0.0.1 for integration tests: a free port, no
// persistence, killed when the test is done (or when the test process exits).
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'

export interface TestRedis {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  readonly port: number
  /** Shuts the server down (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. Idempotent. */
  stop(): Promise<void>
  /** Kills the server at once (SIGKILL), as a crash would: open connections are reset. */
  kill(): void
  /** Freezes the server (SIGSTOP): connections stay open, commands get no answer. */
  pause(): void
  /** Undoes {@link TestRedis.pause}. */
  resume(): void
}

/** Where Debian's `redis-server` package puts the binary. */
const DEBIAN_PATH = '/usr/bin/redis-server'

/** How to get the binary, for error messages. */
export const REDIS_INSTALL_HINT =
  'redis-server was not found on PATH or at /usr/bin/redis-server; install it (Debian: `apt-get install -y redis-server`)'

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** The `redis-server` binary: the first on PATH, else /usr/bin/redis-server, else undefined. */
export function redisServerPath(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue
    const candidate = path.join(dir, 'redis-server')
    if (isExecutable(candidate)) return candidate
  }
  return isExecutable(DEBIAN_PATH) ? DEBIAN_PATH : undefined
}

/** Whether a `redis-server` binary can be started. */
export function redisAvailable(): boolean {
  return redisServerPath() !== undefined
}

/**
 * For a test file's top level: true when redis-server is there. When it is missing, throws on CI
 * (`CI` set), so the run fails loudly instead of passing without the tests; elsewhere it prints
 * why and returns false, so the caller can skip (`describe.skipIf(!requireRedis())`).
 */
export function requireRedis(): boolean {
  if (redisAvailable()) return true
  if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') {
    throw new Error(`${REDIS_INSTALL_HINT}. CI must install it: these tests are not optional.`)
  }
  console.warn(`Skipping the Redis tests: ${REDIS_INSTALL_HINT}.`)
  return false
}

/** A port that was free a moment ago (bound on 0, then released). */
async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      resolve()
    })
  })
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve()
    })
  })
  return port
}

/** One PING over a raw socket: true on `+PONG`. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    let answer = ''
    const finish = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => {
      finish(false)
    })
    socket.once('error', () => {
      finish(false)
    })
    socket.once('connect', () => {
      socket.write('PING\r\n')
    })
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1')
      if (answer.includes('\r\n')) finish(answer.startsWith('+PONG'))
    })
  })
}

const running = new Set<ChildProcess>()
let exitHookInstalled = false

/** A crashed or interrupted test run must not leave servers behind. */
function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL')
  })
}

const START_ATTEMPTS = 3
const READY_TIMEOUT_MS = 10_000

export interface StartRedisOptions {
  /** A fixed port, e.g. to restart a server where clients expect it. Default: a free one. */
  port?: number
}

/** Starts `redis-server` on 127.0.0.1 on a free port and resolves once it answers PING. */
export async function startRedis(options: StartRedisOptions = {}): Promise<TestRedis> {
  const binary = redisServerPath()
  if (binary === undefined) throw new Error(REDIS_INSTALL_HINT)
  if (options.port !== undefined) return startOnce(binary, options.port)
  let lastError: Error | undefined
  // The free port can be taken between probing and binding it: try another one.
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt += 1) {
    try {
      return await startOnce(binary, await freePort())
    } catch (error) {
      lastError = error as Error
    }
  }
  throw lastError ?? new Error('redis-server did not start')
}

async function startOnce(binary: string, port: number): Promise<TestRedis> {
  installExitHook()
  const child = spawn(
    binary,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  running.add(child)
  let output = ''
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000)
  }
  child.stdout.on('data', collect)
  child.stderr.on('data', collect)
  // Set from event handlers, read in the loop below.
  const state: { exited: boolean; error: Error | undefined } = { exited: false, error: undefined }
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      state.exited = true
      running.delete(child)
      resolve()
    })
  })
  child.once('error', (error) => {
    state.error = error
    running.delete(child)
  })

  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    if (state.error !== undefined) throw state.error
    if (state.exited) throw new Error(`redis-server exited at start:\n${output}`)
    if (await ping(port)) break
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      await exited
      throw new Error(`redis-server did not answer PING within ${READY_TIMEOUT_MS} ms:\n${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 25))
  }

  let stopping: Promise<void> | undefined
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop() {
      stopping ??= (async () => {
        if (state.exited) return
        child.kill('SIGCONT')
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(timer)
      })()
      return stopping
    },
    kill() {
      if (!state.exited) child.kill('SIGKILL')
    },
    pause() {
      child.kill('SIGSTOP')
    },
    resume() {
      child.kill('SIGCONT')
    },
  }
}
