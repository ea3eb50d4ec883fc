/* global Buffer, Response, URL, console, process */
// Memory (`pnpm --filter @tokenward/bench run memory`, which runs node --expose-gc): one million
// distinct tokens, garbage and valid mixed, through one validator's `validate()`; resident memory
// (RSS) and heap after a full GC every 100k. Once the caches are full (the verified-token cache
// holds 10,000 verdicts by default) neither may grow beyond +10% of the 100k figure.
// Settings: MEMORY_TOKENS (default 1,000,000), MEMORY_SIGN_SECONDS (default 60). Writes
// results/memory.md.
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { claims, mintPool, sign, signingKey } from './lib/tokens.mjs'
import { fmt, machine, quietWarning, table } from './lib/report.mjs'

if (typeof globalThis.gc !== 'function') {
  console.error('memory: run with node --expose-gc (pnpm --filter @tokenward/bench run memory)')
  process.exit(2)
}
const { createValidator } = await import('@tokenward/core')

const TOTAL = Math.max(100_000, Math.round(Number(process.env.MEMORY_TOKENS ?? 1_000_000)))
const STEP = 100_000
const SIGN_SECONDS = Number(process.env.MEMORY_SIGN_SECONDS ?? 60)
const ISSUER = 'https://issuer.bench.test'
const AUDIENCE = 'https://api.bench.test'

const warning = quietWarning()
if (warning !== undefined) console.log(warning.replaceAll('**', ''))

const es = await signingKey('ES256', 'memory-es256')
const rs = await signingKey('RS256', 'memory-rs256')
const jwks = { keys: [es.jwk, rs.jwk] }

// One valid token in ten, all distinct, ES256 (fast to sign), signed before anything is measured.
const wantValid = Math.ceil(TOTAL / 10)
const started = Date.now()
console.log(`memory: signing ${fmt(wantValid)} distinct ES256 tokens (at most ${SIGN_SECONDS} s)`)
const valid = await mintPool(wantValid, (i) => sign(es, claims(ISSUER, AUDIENCE, i)), {
  deadline: started + SIGN_SECONDS * 1000,
})
console.log(
  `memory: ${fmt(valid.length)} signed in ${((Date.now() - started) / 1000).toFixed(1)} s`,
)
// jose returns each token as a concatenation of its parts; V8 flattens such a string the first
// time it is read, which frees the parts. Flatten them all now, so that this saving is not
// counted as the validator's memory going down.
for (let i = 0; i < valid.length; i++) valid[i] = Buffer.from(valid[i], 'latin1').toString('latin1')

// Garbage, made on the fly, every token distinct (a unique jti or random bytes).
const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')
const esHeader = b64({ alg: 'ES256', kid: es.kid, typ: 'at+jwt' })
const rsHeader = b64({ alg: 'RS256', kid: rs.kid, typ: 'at+jwt' })
const now = () => Math.floor(Date.now() / 1000)
const garbage = [
  // A forged RS256 signature over valid claims: verified, fails, remembered as forged.
  (i) =>
    `${rsHeader}.${b64(claims(ISSUER, AUDIENCE, i))}.${randomBytes(256).toString('base64url')}`,
  (i) =>
    `${rsHeader}.${b64(claims(ISSUER, AUDIENCE, i))}.${randomBytes(256).toString('base64url')}`,
  (i) =>
    `${rsHeader}.${b64(claims(ISSUER, AUDIENCE, i))}.${randomBytes(256).toString('base64url')}`,
  // Expired.
  (i) =>
    `${esHeader}.${b64(claims(ISSUER, AUDIENCE, i, { now: now() - 7200 }))}.${randomBytes(64).toString('base64url')}`,
  // Another audience.
  (i) =>
    `${esHeader}.${b64(claims(ISSUER, 'https://other.test', i))}.${randomBytes(64).toString('base64url')}`,
  // An unknown kid.
  (i) =>
    `${b64({ alg: 'ES256', kid: `k${i}`, typ: 'at+jwt' })}.${b64(claims(ISSUER, AUDIENCE, i))}.${randomBytes(64).toString('base64url')}`,
  // Not a JWT (opaque, and no introspection configured).
  () => randomBytes(30).toString('base64url'),
  // Three segments that are not JSON.
  () => `${randomBytes(12).toString('base64url')}.${randomBytes(48).toString('base64url')}.x`,
  // Another issuer.
  (i) =>
    `${esHeader}.${b64(claims('https://evil.test', AUDIENCE, i))}.${randomBytes(64).toString('base64url')}`,
]

const validator = createValidator({
  issuer: ISSUER,
  audience: AUDIENCE,
  jwksUri: `${ISSUER}/jwks`,
  // Served from memory: no network, the production key-set code path.
  fetch: async () =>
    new Response(JSON.stringify(jwks), { headers: { 'content-type': 'application/json' } }),
})
await validator.warmUp()

function snapshot(done, accepted, rejected) {
  globalThis.gc()
  const m = process.memoryUsage()
  return {
    done,
    accepted,
    rejected,
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    seconds: (Date.now() - started) / 1000,
  }
}

const rows = [snapshot(0, 0, 0)]
let accepted = 0
let rejected = 0
let v = 0
let g = 0
const codes = new Map()
for (let done = 1; done <= TOTAL; done++) {
  // Tokens 0, 10, 20, … are valid while the signed ones last; the rest is garbage.
  const token =
    done % 10 === 0 && v < valid.length ? valid[v++] : garbage[g++ % garbage.length](done)
  try {
    await validator.validate(token)
    accepted++
  } catch (error) {
    rejected++
    const code = error?.code ?? 'thrown'
    codes.set(code, (codes.get(code) ?? 0) + 1)
  }
  if (done % STEP === 0) {
    const row = snapshot(done, accepted, rejected)
    rows.push(row)
    console.log(
      `memory: ${fmt(done)} tokens: RSS ${fmt(row.rss / 2 ** 20, 1)} MiB, heap ${fmt(row.heapUsed / 2 ** 20, 1)} MiB (${row.seconds.toFixed(0)} s)`,
    )
  }
}
await validator.close()

// Flat: every checkpoint after the first full one within ±10% of it.
const base = rows.find((r) => r.done === STEP)
const later = rows.filter((r) => r.done > STEP)
// A reading below -10% is memory handed back (e.g. the minting's garbage), not growth: it is
// reported, but only growth beyond +10% fails.
const judge = (pick) => {
  const ref = pick(base)
  if (later.some((r) => pick(r) > 1.1 * ref)) return 'grows beyond +10%'
  if (later.some((r) => pick(r) < 0.9 * ref)) return 'shrinks below -10% (no growth)'
  return 'stays within ±10%'
}
const rssVerdict = judge((r) => r.rss)
const heapVerdict = judge((r) => r.heapUsed)
const grows = [rssVerdict, heapVerdict].some((v) => v.startsWith('grows'))
const verdict = grows ? 'NOT FLAT' : 'FLAT'
const mib = (bytes) => fmt(bytes / 2 ** 20, 1)

const markdown = [
  '# tokenward memory benchmark',
  '',
  `- Date: ${new Date().toISOString()}`,
  `- Machine: ${machine()}`,
  `- ${fmt(TOTAL)} distinct tokens through one validator (default caches: 10,000 verified-token verdicts), one after another: ${fmt(accepted)} accepted (${fmt(valid.length)} distinct valid ES256 tokens signed beforehand), ${fmt(rejected)} rejected (${[...codes].map(([c, n]) => `${c} ${fmt(n)}`).join(', ')}).`,
  '- Figures after a full GC (`--expose-gc`). The signed tokens stay in memory for the whole run, so they are in every figure, the first included.',
  ...(warning === undefined ? [] : [`- ${warning}`]),
  '',
  table(
    [
      'tokens',
      'RSS MiB',
      'heap used MiB',
      'heap total MiB',
      'external MiB',
      'RSS vs 100k',
      'heap vs 100k',
    ],
    rows.map((r) => [
      fmt(r.done),
      mib(r.rss),
      mib(r.heapUsed),
      mib(r.heapTotal),
      mib(r.external),
      base === undefined || r.done < STEP
        ? '–'
        : `${fmt((100 * (r.rss - base.rss)) / base.rss, 1)}%`,
      base === undefined || r.done < STEP
        ? '–'
        : `${fmt((100 * (r.heapUsed - base.heapUsed)) / base.heapUsed, 1)}%`,
    ]),
    'lrrrrrr',
  ),
  '',
  `**${verdict}**: after 100k tokens (caches full), RSS ${rssVerdict} and heap used ${heapVerdict} of the 100k reading.`,
  '',
].join('\n')
mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
writeFileSync(new URL('./results/memory.md', import.meta.url), markdown)
console.log(`\n${markdown}`)
process.exitCode = verdict === 'FLAT' ? 0 : 1
