/* global Buffer, Response, URL, console, process */
// Micro benchmark (`pnpm --filter @tokenward/bench run micro`): µs per verification, in one
// process, interleaved (every case runs one batch per round, the rounds repeat), medians.
// Settings: MICRO_ROUNDS (default 31), MICRO_BATCH (default 200), MICRO_BUILD=1 runs `pnpm build`.
// Writes results/micro.md.
import { KeyObject, verify as cryptoVerify } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { createVerifier } from 'fast-jwt'
import { JwtVerifier } from 'aws-jwt-verify'
import { claims, mintPool, sign, signingKey } from './lib/tokens.mjs'
import { fmt, machine, median, quietWarning, table } from './lib/report.mjs'

const ROUNDS = Math.max(1, Math.round(Number(process.env.MICRO_ROUNDS ?? 31)))
const BATCH = Math.max(1, Math.round(Number(process.env.MICRO_BATCH ?? 200)))
const WARM = Math.min(2000, 5 * BATCH)
const ISSUER = 'https://issuer.bench.test'
const AUDIENCE = 'https://api.bench.test'
const root = fileURLToPath(new URL('..', import.meta.url))

if (process.env.MICRO_BUILD === '1') {
  const build = spawnSync('pnpm', ['build'], { cwd: root, stdio: 'inherit' })
  if (build.status !== 0) process.exit(1)
}
// The BUILT core (run `pnpm build` first).
const { createValidator } = await import('@tokenward/core')

const warning = quietWarning()
if (warning !== undefined) console.log(warning.replaceAll('**', ''))

const keys = {
  RS256: await signingKey('RS256', 'micro-rs256'),
  ES256: await signingKey('ES256', 'micro-es256'),
}
const jwks = { keys: [keys.RS256.jwk, keys.ES256.jwk] }

// Distinct tokens per algorithm: the warm-up share, then one share per round. Every verifier
// gets the same shares, so each token is new to each verifier (each has its own cache).
console.log(`micro: signing ${2 * (WARM + ROUNDS * BATCH)} tokens`)
const tokens = {}
for (const alg of ['RS256', 'ES256']) {
  const minted = await mintPool(WARM + ROUNDS * BATCH, (i) =>
    sign(keys[alg], claims(ISSUER, AUDIENCE, i)),
  )
  // Flat strings, as an HTTP parser hands them over (jose returns concatenations, which V8
  // would flatten on the first read, at the cost of whichever verifier reads first).
  tokens[alg] = minted.map((t) => Buffer.from(t, 'latin1').toString('latin1'))
}
const share = (alg, round) =>
  round === 'warm'
    ? tokens[alg].slice(0, WARM)
    : tokens[alg].slice(WARM + round * BATCH, WARM + (round + 1) * BATCH)

// ---------------------------------------------------------------------------------------------
// Verifiers. Each is (token) => result | Promise<result>, and must accept every token.

function tokenward() {
  // Keys "fetched" from a JWKS URL through a custom fetch: the production path (remote key set,
  // kid lookup on cache hits), without a network.
  const validator = createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: `${ISSUER}/jwks`,
    fetch: async () =>
      new Response(JSON.stringify(jwks), { headers: { 'content-type': 'application/json' } }),
  })
  return { validate: (token) => validator.validate(token), validator }
}

const keyObjects = {
  RS256: KeyObject.from(keys.RS256.publicKey),
  ES256: KeyObject.from(keys.ES256.publicKey),
}
function nodeCrypto(alg) {
  const key =
    alg === 'ES256' ? { key: keyObjects.ES256, dsaEncoding: 'ieee-p1363' } : keyObjects.RS256
  return (token) => {
    const dot = token.lastIndexOf('.')
    const ok = cryptoVerify(
      'sha256',
      Buffer.from(token.slice(0, dot)),
      key,
      Buffer.from(token.slice(dot + 1), 'base64url'),
    )
    if (!ok) throw new Error('signature')
    return ok
  }
}

function jose(alg) {
  const set = createLocalJWKSet(jwks)
  const options = { issuer: ISSUER, audience: AUDIENCE, algorithms: [alg] }
  return (token) => jwtVerify(token, set, options)
}

function fastJwt(alg, cache) {
  return createVerifier({
    key: keys[alg].pem,
    algorithms: [alg],
    allowedIss: ISSUER,
    allowedAud: AUDIENCE,
    cache,
  })
}

function aws() {
  const verifier = JwtVerifier.create({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: `${ISSUER}/jwks`,
  })
  verifier.cacheJwks(jwks)
  return (token) => verifier.verify(token)
}

const tw = tokenward()
await tw.validator.warmUp()
const awsVerify = aws()

/** Rows of the table: label, and per column the verifier and which tokens it gets. */
const ROWS = [
  {
    label: '**tokenward** `validate()` (remote JWKS, cached)',
    rs: tw.validate,
    es: tw.validate,
    same: tw.validate,
  },
  {
    label: 'node:crypto `verify` (signature only)',
    rs: nodeCrypto('RS256'),
    es: nodeCrypto('ES256'),
    same: nodeCrypto('RS256'),
  },
  {
    label: 'jose `jwtVerify` (`createLocalJWKSet`)',
    rs: jose('RS256'),
    es: jose('ES256'),
    same: jose('RS256'),
  },
  {
    label: 'fast-jwt `createVerifier` (static PEM key, no cache)',
    rs: fastJwt('RS256', false),
    es: fastJwt('ES256', false),
    same: fastJwt('RS256', false),
  },
  {
    label: 'fast-jwt `createVerifier` (static PEM key, `cache: true`)',
    rs: fastJwt('RS256', true),
    es: fastJwt('ES256', true),
    same: fastJwt('RS256', true),
  },
  {
    label: 'aws-jwt-verify `JwtVerifier` (`cacheJwks`)',
    rs: awsVerify,
    es: awsVerify,
    same: awsVerify,
  },
]
const COLUMNS = [
  { key: 'rs', title: 'new RS256 token', tokens: (round) => share('RS256', round) },
  { key: 'es', title: 'new ES256 token', tokens: (round) => share('ES256', round) },
  {
    key: 'same',
    title: 'same RS256 token (cache hit where there is a cache)',
    tokens: () => Array(BATCH).fill(tokens.RS256[0]),
  },
]

// Every case accepts its tokens, or the table says why not.
const failures = new Map()
async function check(row, column) {
  const fn = row[column.key]
  try {
    for (const token of column.tokens('warm').slice(0, 3)) await fn(token)
  } catch (error) {
    failures.set(`${row.label}|${column.key}`, error?.code ?? error?.message ?? String(error))
  }
}

/** Wall-clock and CPU (every thread: WebCrypto verifies on libuv's pool) µs per verification. */
async function time(fn, list) {
  const cpu = process.cpuUsage()
  const start = process.hrtime.bigint()
  for (const token of list) {
    const result = fn(token)
    if (result !== undefined && typeof result.then === 'function') await result
  }
  const wall = Number(process.hrtime.bigint() - start) / 1000 / list.length
  const used = process.cpuUsage(cpu)
  return { wall, cpu: (used.user + used.system) / list.length }
}

for (const row of ROWS) for (const column of COLUMNS) await check(row, column)

// Warm-up (JIT), then the interleaved rounds. Each 'same' batch starts with the cache warm.
console.log(`micro: ${ROUNDS} rounds × ${BATCH} verifications per case`)
for (const row of ROWS) {
  for (const column of COLUMNS) {
    if (failures.has(`${row.label}|${column.key}`)) continue
    await time(row[column.key], column.tokens('warm'))
  }
}
const samples = new Map()
for (let round = 0; round < ROUNDS; round++) {
  for (const row of ROWS) {
    for (const column of COLUMNS) {
      const id = `${row.label}|${column.key}`
      if (failures.has(id)) continue
      const measured = await time(row[column.key], column.tokens(round))
      samples.set(id, [...(samples.get(id) ?? []), measured])
    }
  }
}

const cell = (what) => (row, column) => {
  const id = `${row.label}|${column.key}`
  if (failures.has(id)) return `fails: ${failures.get(id)}`
  return fmt(median(samples.get(id).map((m) => m[what])), 1)
}
const results = (what) =>
  table(
    ['verifier', ...COLUMNS.map((c) => c.title)],
    ROWS.map((row) => [row.label, ...COLUMNS.map((c) => cell(what)(row, c))]),
    'lrrr',
  )
const markdown = [
  '# tokenward micro benchmark',
  '',
  `- Date: ${new Date().toISOString()}`,
  `- Machine: ${machine()}`,
  `- Medians of ${ROUNDS} interleaved rounds of ${BATCH} verifications per case, one after another (each awaited), one process, unpinned.`,
  '- Every verifier checks the signature, `iss`, `aud` and `exp` (node:crypto: the signature only, the floor). RSA 2048 and P-256 keys. "New" tokens are distinct, each seen once by each verifier.',
  ...(warning === undefined ? [] : [`- ${warning}`]),
  '',
  '## Wall-clock µs per verification',
  '',
  results('wall'),
  '',
  '## CPU µs per verification',
  '',
  "User + system time of the process per verification, every thread counted (jose verifies through WebCrypto, on libuv's thread pool).",
  '',
  results('cpu'),
  '',
].join('\n')

mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
writeFileSync(new URL('./results/micro.md', import.meta.url), markdown)
console.log(`\n${markdown}`)
