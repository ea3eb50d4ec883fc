// For the examples' tests: runs an example as its users would (its TypeScript through tsx, the
// @tokenward packages from their built dist/), reads its output, and stops it.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'

export const examplesDir = fileURLToPath(new URL('.', import.meta.url))

/** The examples import the built packages: `pnpm test` builds first; without a build they are skipped. */
export const built = ['core', 'express', 'koa', 'fastify', 'hono', 'nestjs'].every((name) =>
  existsSync(fileURLToPath(new URL(`../packages/${name}/dist/index.js`, import.meta.url))),
)

export interface Running {
  readonly child: ChildProcess
  /** stdout and stderr so far. */
  output(): string
  /** Resolves with the first match of `pattern` in the output; rejects if the process ends first or after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>
  /** Resolves with the exit code (null when killed by a signal). */
  exited(): Promise<number | null>
  /** Sends `signal` and waits for the exit; SIGKILL after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>
}

const running = new Set<ChildProcess>()

/**
 * `node --import tsx <file> ...args` in `cwd` (relative to examples/), with only the variables
 * given plus PATH; plain `node` for JavaScript with `{ tsx: false }`.
 */
export function runExample(
  cwd: string,
  file: string,
  args: readonly string[] = [],
  env: Readonly<Record<string, string>> = {},
  options: { tsx?: boolean } = {},
): Running {
  const loader = options.tsx === false ? [] : ['--import', 'tsx']
  const child = spawn(process.execPath, [...loader, file, ...args], {
    cwd: `${examplesDir}${cwd}`,
    env: {
      PATH: process.env.PATH ?? '',
      ...(process.env.TMPDIR === undefined ? {} : { TMPDIR: process.env.TMPDIR }),
      NO_COLOR: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  running.add(child)
  let output = ''
  const listeners = new Set<() => void>()
  const append = (chunk: Buffer) => {
    output += chunk.toString()
    for (const listener of listeners) listener()
  }
  child.stdout.on('data', append)
  child.stderr.on('data', append)
  const exit = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running.delete(child)
      for (const listener of listeners) listener()
      resolve(code)
    })
  })

  return {
    child,
    output: () => output,
    waitFor(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          done()
          reject(new Error(`no ${String(pattern)} within ${timeoutMs} ms; output:\n${output}`))
        }, timeoutMs)
        const check = () => {
          const match = pattern.exec(output)
          if (match !== null) {
            done()
            resolve(match)
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done()
            reject(new Error(`exited before ${String(pattern)}; output:\n${output}`))
          }
        }
        const done = () => {
          clearTimeout(timer)
          listeners.delete(check)
        }
        listeners.add(check)
        check()
      })
    },
    exited: () => exit,
    async stop(signal = 'SIGTERM', timeoutMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exit
      child.kill(signal)
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      try {
        return await exit
      } finally {
        clearTimeout(timer)
      }
    },
  }
}

/** Kills whatever a test left running (call from afterAll). */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL')
}

export interface Answer {
  readonly status: number
  readonly challenge: string | null
  readonly body: unknown
}

export async function get(url: string, token?: string): Promise<Answer> {
  const response = await fetch(url, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  })
  const text = await response.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON
  }
  return { status: response.status, challenge: response.headers.get('www-authenticate'), body }
}

/** A port that was free a moment ago, for programs that print the port they were given. */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}
