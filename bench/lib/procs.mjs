/* global clearTimeout, process, setTimeout */
// The benchmark's child processes (servers, the issuer, the Redis wrapper): started pinned to a
// core, frozen between their runs, and stopped when the driver is done or dies.
import { spawn } from 'node:child_process'

/** Running children; a `gentle` one is stopped with SIGTERM (it passes it on to its own child). */
const children = new Map()

/** Tracks a child started elsewhere, so that it is stopped with the others. */
export function track(child, { gentle = false } = {}) {
  children.set(child, { gentle })
  child.once('exit', () => children.delete(child))
}

/** Stops a child: its stdin closes (it exits by itself), SIGKILL after 3 s. */
export function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
    }, 3000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    thaw(child)
    if (children.get(child)?.gentle === true) child.kill('SIGTERM')
    else child.stdin.end()
  })
}

/**
 * SIGSTOP / SIGCONT. A frozen server whose driver died is not left behind: its process group
 * is orphaned, so the kernel sends it SIGHUP and SIGCONT (it exits), and its stdin has ended.
 */
export function freeze(child) {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGSTOP')
}
export function thaw(child) {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGCONT')
}

/**
 * Starts `binary flags script args` (Node unless another runtime's binary is given), pinned to
 * core `cpu` with taskset when `pin`; resolves { child, port, out } once the child prints
 * `LISTENING <port>` (`out`: what it printed up to then).
 */
export function startProcess({ script, args = [], cpu, pin, env, flags = [], binary }) {
  const runtime = binary ?? process.execPath
  const command = pin ? 'taskset' : runtime
  const argv = pin
    ? ['-c', String(cpu), runtime, ...flags, script, ...args]
    : [...flags, script, ...args]
  const child = spawn(command, argv, {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, NODE_ENV: 'production', ...env },
  })
  track(child)
  const name = args.join(' ') || script
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${name} did not start within 30 s`))
    }, 30_000)
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk) => {
      out += chunk
      const match = /LISTENING (\d+)/.exec(out)
      if (match !== null) {
        clearTimeout(timer)
        child.stdout.removeAllListeners('data')
        child.stdout.resume()
        resolve({ child, port: Number(match[1]), out })
      }
    })
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(new Error(`${name} could not be started: ${error.message}`))
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`${name} exited (${code ?? signal}) before listening: ${out.trim()}`))
    })
  })
}

export async function stopAll() {
  await Promise.all([...children.keys()].map(stopChild))
}

/** Ctrl-C: no child is left behind. */
export function killAllOnInterrupt() {
  process.on('SIGINT', () => {
    for (const [child, { gentle }] of children) {
      thaw(child)
      child.kill(gentle ? 'SIGTERM' : 'SIGKILL')
    }
    process.exit(130)
  })
}
