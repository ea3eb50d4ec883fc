/* global Buffer, URL, console, process */
// Scale (`pnpm --filter @tokenward/bench run memory`, which runs node --expose-gc): one validator
// meets MEMORY_VALID distinct valid ES256 tokens and MEMORY_FORGED distinct forged RS256 ones
// (default 1,000,000 each), mixed, one after another; and, every MEMORY_HOT_EVERY-th request, one
// of MEMORY_HOT tokens it has cached (a hot user). At each of MEMORY_CHECKPOINTS checkpoints: a
// full GC and RSS / heap against the configured budgets of the verdict caches, and the latency
// of the cached requests (in the stream since the last checkpoint, and alone after the GC).
// Settings: see README.md. Writes results/memory.md (MEMORY_OUT).
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { claims } from './lib/tokens.mjs'
import { tokenward } from './lib/verifiers.mjs'
import { machine, quietWarning } from './lib/report.mjs'
import { budgetOf, markdown } from './lib/memory-report.mjs'

if (typeof globalThis.gc !== 'function') {
  console.error('memory: run with node --expose-gc (pnpm --filter @tokenward/bench run memory)')
  process.exit(2)
}
const { createValidator } = await import('@tokenward/core')

const int = (name, fallback, min) => {
  const value = Math.round(Number(process.env[name] ?? fallback))
  if (!Number.isFinite(value) || value < min) {
    console.error(`memory: ${name} must be an integer >= ${min}`)
    process.exit(2)
  }
  return value
}
const VALID = int('MEMORY_VALID', 1_000_000, 0)
const FORGED = int('MEMORY_FORGED', 1_000_000, 0)
const CHECKPOINTS = int('MEMORY_CHECKPOINTS', 10, 1)
const HOT = int('MEMORY_HOT', 1000, 1)
const HOT_EVERY = int('MEMORY_HOT_EVERY', 16, 2)
const SECONDS = int('MEMORY_SECONDS', 600, 1)
const tokenCache = {
  ...(process.env.MEMORY_CACHE_MAX === undefined ? {} : { max: int('MEMORY_CACHE_MAX', 0, 1) }),
  ...(process.env.MEMORY_CACHE_MAX_BYTES === undefined
    ? {}
    : { maxBytes: int('MEMORY_CACHE_MAX_BYTES', 0, 1) }),
}
const ISSUER = 'https://issuer.bench.test'
const AUDIENCE = 'https://api.bench.test'

const warning = quietWarning()
if (warning !== undefined) console.log(warning.replaceAll('**', ''))

// Keys: node:crypto signs synchronously (about 30 µs an ES256 token), so valid tokens are made
// on the fly and none is kept: the tokens in memory are the validator's.
const es = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const rs = generateKeyPairSync('rsa', { modulusLength: 2048 })
const jwk = (key, kid, alg) => ({ ...key.export({ format: 'jwk' }), kid, alg, use: 'sig' })
const jwks = { keys: [jwk(es.publicKey, 'mem-es', 'ES256'), jwk(rs.publicKey, 'mem-rs', 'RS256')] }
const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')
const esHeader = b64({ alg: 'ES256', kid: 'mem-es', typ: 'at+jwt' })
const rsHeader = b64({ alg: 'RS256', kid: 'mem-rs', typ: 'at+jwt' })
function validToken(i) {
  const input = `${esHeader}.${b64(claims(ISSUER, AUDIENCE, i))}`
  const signature = sign('sha256', Buffer.from(input), {
    key: es.privateKey,
    dsaEncoding: 'ieee-p1363',
  })
  return `${input}.${signature.toString('base64url')}`
}
/** Valid claims and the issuer's RS256 kid, a random signature: verified, fails, remembered. */
const forgedToken = (i) =>
  `${rsHeader}.${b64(claims(ISSUER, AUDIENCE, -i))}.${randomBytes(256).toString('base64url')}`

const validator = await tokenward(createValidator, {
  issuer: ISSUER,
  audience: AUDIENCE,
  jwks,
  ...(Object.keys(tokenCache).length === 0 ? {} : { tokenCache }),
})
const hot = Array.from({ length: HOT }, (_, i) => `Bearer ${validToken(10_000_000 + i)}`)
const authenticate = (header) => validator.authenticateNow(header)
for (const header of hot) await authenticate(header)

/** µs of one cached request (synchronous on a hit; awaited otherwise). */
async function timed(header) {
  const start = process.hrtime.bigint()
  const result = authenticate(header)
  if (result instanceof Promise) await result
  return Number(process.hrtime.bigint() - start) / 1000
}
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
const latencyOf = (samples) => {
  const sorted = Float64Array.from(samples).sort()
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.at(-1) }
}

const started = Date.now()
function checkpoint(done, counts, stream) {
  globalThis.gc()
  const m = process.memoryUsage()
  return { done, ...counts, rss: m.rss, heapUsed: m.heapUsed, external: m.external, stream }
}
async function quietLatency() {
  const samples = []
  for (let pass = 0; pass < 5; pass++) for (const header of hot) samples.push(await timed(header))
  return latencyOf(samples)
}

const total = VALID + FORGED
const counts = { valid: 0, forged: 0, accepted: 0, rejected: 0 }
const rows = [{ ...checkpoint(0, counts, undefined), quiet: await quietLatency(), seconds: 0 }]
let streamSamples = []
let h = 0
let done = 0
let stopped = false
const deadline = started + SECONDS * 1000
for (let step = 1; step <= CHECKPOINTS && !stopped; step++) {
  const target = Math.round((total * step) / CHECKPOINTS)
  const intervalStart = Date.now()
  const from = done
  while (done < target) {
    if (done % HOT_EVERY === 0) streamSamples.push(await timed(hot[h++ % HOT]))
    // Valid and forged in proportion, so both caches fill from the start.
    const valid = counts.valid * FORGED <= counts.forged * VALID && counts.valid < VALID
    const header = `Bearer ${valid ? validToken(counts.valid++) : forgedToken(counts.forged++)}`
    try {
      const result = authenticate(header)
      if (result instanceof Promise) await result
      counts.accepted++
    } catch {
      counts.rejected++
    }
    done++
    if ((done & 1023) === 0 && Date.now() > deadline) {
      stopped = true
      break
    }
  }
  const row = checkpoint(done, counts, latencyOf(streamSamples))
  row.quiet = await quietLatency()
  row.seconds = (Date.now() - started) / 1000
  row.rate = (done - from) / ((Date.now() - intervalStart) / 1000)
  rows.push(row)
  streamSamples = []
  console.log(
    `memory: ${done} tokens, RSS ${(row.rss / 2 ** 20).toFixed(1)} MiB, heap ${(row.heapUsed / 2 ** 20).toFixed(1)} MiB, cached p99 ${row.stream.p99.toFixed(1)} µs (${row.seconds.toFixed(0)} s)`,
  )
}
await validator.close()

const text = markdown({
  rows,
  settings: { VALID, FORGED, HOT, HOT_EVERY, SECONDS, tokenCache, stopped, total },
  budget: budgetOf(tokenCache, validToken(0).length, forgedToken(1).length),
  machine: machine(),
  warning,
})
const out = process.env.MEMORY_OUT ?? fileURLToPath(new URL('./results/memory.md', import.meta.url))
mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
writeFileSync(out, text.markdown)
console.log(`\n${text.markdown}`)
process.exitCode = text.ok ? 0 : 1
