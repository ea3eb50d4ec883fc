/* global process, setTimeout */
// One contender's server process: `node servers/server.mjs <contender> <scenario>`, settings in
// BENCH_* variables. Prints `LISTENING <port>` once ready; stops when its stdin closes (the driver
// ended or died) or after BENCH_SERVER_LIFETIME seconds, whichever comes first.
import { create } from './contenders.mjs'

const [name, scenario] = process.argv.slice(2)
const env = {
  issuer: process.env.BENCH_ISSUER,
  jwksUri: process.env.BENCH_JWKS_URI,
  audience: process.env.BENCH_AUDIENCE,
  publicKeyPem: process.env.BENCH_PUBLIC_KEY_PEM,
  redisUrl: process.env.BENCH_REDIS_URL,
  dpopBaseUrl: process.env.BENCH_DPOP_BASE_URL,
}

const lifetime = Number(process.env.BENCH_SERVER_LIFETIME ?? 1800) * 1000
setTimeout(() => process.exit(0), lifetime).unref()

const server = await create(name, env, scenario)
server.keepAliveTimeout = 60_000
process.stdout.write(`LISTENING ${server.address().port}\n`)

process.stdin.on('data', () => {})
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
