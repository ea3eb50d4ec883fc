/* global setTimeout */
// A throw-away redis-server on 127.0.0.1 for the `redis` scenario: no persistence, a random free
// port, pinned with the driver and the issuer, stopped with the other children. It runs under
// coreutils `timeout`, so that it ends after 30 minutes at the latest even if the driver is
// killed outright (SIGTERM to `timeout` is passed on to redis-server).
import { spawn, spawnSync } from 'node:child_process'
import { createServer, connect } from 'node:net'
import { track } from './procs.mjs'

/** Why redis-server cannot run here, or undefined when it can. */
export function redisUnavailable() {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  if (found.error !== undefined) return `redis-server is not installed (${found.error.message})`
  if (found.status !== 0) return `redis-server --version failed: ${found.stderr.trim()}`
  return undefined
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** Resolves once something accepts connections on `port`, rejects after `ms`. */
function reachable(port, ms) {
  const deadline = Date.now() + ms
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolve()
      })
      socket.once('error', () => {
        socket.destroy()
        if (Date.now() > deadline) reject(new Error(`redis-server not reachable on ${port}`))
        else setTimeout(attempt, 50)
      })
    }
    attempt()
  })
}

/**
 * Starts redis-server (pinned to `cpu` when `pin`); resolves { url, child }. Rejects, with
 * redis-server's own words, when it does not come up within 10 s.
 */
export async function startRedis({ cpu, pin }) {
  const port = await freePort()
  const redisArgs = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--protected-mode',
    'yes',
    '--loglevel',
    'warning',
  ]
  const argv = pin
    ? ['1800', 'taskset', '-c', String(cpu), 'redis-server', ...redisArgs]
    : ['1800', 'redis-server', ...redisArgs]
  const child = spawn('timeout', argv, { stdio: ['ignore', 'pipe', 'pipe'] })
  track(child, { gentle: true })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk) => (output += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk) => (output += chunk))
  const exited = new Promise((_resolve, reject) => {
    child.once('exit', (code, signal) => {
      reject(new Error(`redis-server exited (${code ?? signal}): ${output.trim().slice(0, 500)}`))
    })
  })
  try {
    await Promise.race([reachable(port, 10_000), exited])
  } catch (error) {
    child.kill('SIGTERM')
    throw error
  }
  exited.catch(() => undefined)
  return { url: `redis://127.0.0.1:${port}`, child }
}
