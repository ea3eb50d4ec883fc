/* global Buffer, URL, console, process, setImmediate */
// In-process A/B of two builds of @tokenward/core, interleaved in one process so that the
// machine's drift hits both alike: a never-seen RS256 token through authenticateNow (static key,
// node:crypto path), a cached token, and node:crypto's verify as the floor. Medians of 19 rounds.
//
//   BASE_CORE=/path/to/older/checkout/packages/core/dist/index.js node bench/compare-core.mjs
//
// Without BASE_CORE, the current build is compared with itself (the run's own resolution).
import { generateKeyPairSync, sign, verify } from 'node:crypto'
import { pathToFileURL } from 'node:url'

const current = new URL('../packages/core/dist/index.js', import.meta.url).href
const base =
  process.env.BASE_CORE === undefined ? current : pathToFileURL(process.env.BASE_CORE).href
const A = await import(`${base}?base`)
const B = await import(`${current}?current`)

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k', alg: 'RS256' }
const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')
const seconds = () => Math.floor(Date.now() / 1000)
function token(i) {
  const header = b64({ alg: 'RS256', kid: 'k', typ: 'JWT' })
  const claims = b64({ iss: 'https://i.example', aud: 'api', sub: `u${i}`, exp: seconds() + 3600 })
  const input = `${header}.${claims}`
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`
}

const options = { issuer: 'https://i.example', audience: 'api', jwks: { keys: [jwk] } }
// `logger: false` is the second version's; the first version had no such value.
const a = A.createValidator(options)
const b = B.createValidator({ ...options, logger: false })
const ROUNDS = 19
const NEW = 300
const HITS = 20_000
const fresh = Array.from({ length: 2 * ROUNDS * NEW + 1 }, (_, i) => token(i))
const cached = token(-1)
// The first token of a validator waits for its key to be chosen; afterwards all is synchronous.
for (const validator of [a, b]) await validator.authenticate(`Bearer ${cached}`)

let next = 0
const perCall = (started, count) => Number(process.hrtime.bigint() - started) / 1e3 / count
function newTokens(validator) {
  const started = process.hrtime.bigint()
  for (let i = 0; i < NEW; i++) validator.authenticateNow(`Bearer ${fresh[next++]}`)
  return perCall(started, NEW)
}
function hits(validator) {
  const started = process.hrtime.bigint()
  for (let i = 0; i < HITS; i++) validator.authenticateNow(`Bearer ${cached}`.slice(0))
  return perCall(started, HITS)
}
function floor() {
  const started = process.hrtime.bigint()
  for (let i = 0; i < NEW; i++) {
    const t = fresh[i]
    const dot = t.lastIndexOf('.')
    verify(
      'sha256',
      Buffer.from(t.slice(0, dot)),
      publicKey,
      Buffer.from(t.slice(dot + 1), 'base64url'),
    )
  }
  return perCall(started, NEW)
}

const runs = { aNew: [], bNew: [], aHit: [], bHit: [], floor: [] }
for (let round = 0; round < ROUNDS; round++) {
  await new Promise((resolve) => setImmediate(resolve))
  const order = round % 2 === 0 ? [a, b] : [b, a]
  for (const validator of order) runs[validator === a ? 'aNew' : 'bNew'].push(newTokens(validator))
  runs.floor.push(floor())
  for (const validator of order) runs[validator === a ? 'aHit' : 'bHit'].push(hits(validator))
}
const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]
const µs = (values, digits = 1) => `${median(values).toFixed(digits)} µs`
console.log(
  `new RS256 token: base ${µs(runs.aNew)}, current ${µs(runs.bNew)}; crypto.verify ${µs(runs.floor)}`,
)
console.log(`cached token:    base ${µs(runs.aHit, 2)}, current ${µs(runs.bHit, 2)}`)
