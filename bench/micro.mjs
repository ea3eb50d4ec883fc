/* global Buffer, URL, console, process */
// Micro benchmark (`pnpm --filter @tokenward/bench run micro`): µs per verification, in one
// process, interleaved (every case runs one batch per round, the rounds repeat); medians with the
// lowest and highest round, and tokenward's cost over node:crypto's `verify` of the same input,
// paired by round. Settings: MICRO_ROUNDS (default 31), MICRO_BATCH (default 200), MICRO_BUILD=1
// runs `pnpm build` first. Writes results/micro.md.
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { claims, mintPool, sign, signingKey } from './lib/tokens.mjs'
import { dpopClient } from './lib/dpop.mjs'
import { aws, fastJwt, jose, nodeCrypto, tokenward } from './lib/verifiers.mjs'
import { runCases } from './lib/micro-cases.mjs'
import { fmt, machine, median, quietWarning, table } from './lib/report.mjs'

const ROUNDS = Math.max(1, Math.round(Number(process.env.MICRO_ROUNDS ?? 31)))
const BATCH = Math.max(1, Math.round(Number(process.env.MICRO_BATCH ?? 200)))
const WARM = Math.min(2000, 5 * BATCH)
const ISSUER = 'https://issuer.bench.test'
const AUDIENCE = 'https://api.bench.test'
const RESOURCE = 'https://api.bench.test/orders'
const root = fileURLToPath(new URL('..', import.meta.url))

if (process.env.MICRO_BUILD === '1') {
  const build = spawnSync('pnpm', ['build'], { cwd: root, stdio: 'inherit' })
  if (build.status !== 0) process.exit(1)
}
// The BUILT core (run `pnpm build` first).
const { createValidator, checkDpopProof, createMemoryReplayStore } = await import('@tokenward/core')

const warning = quietWarning()
if (warning !== undefined) console.log(warning.replaceAll('**', ''))

const keys = {
  RS256: await signingKey('RS256', 'micro-rs256'),
  ES256: await signingKey('ES256', 'micro-es256'),
}
const forger = await signingKey('RS256', 'micro-rs256') // the same kid, another key
const jwks = { keys: [keys.RS256.jwk, keys.ES256.jwk] }
const env = { issuer: ISSUER, audience: AUDIENCE, jwks }
const client = dpopClient()

// Distinct tokens: the warm-up share, then one share per round. Every verifier gets the same
// shares, so each token is new to each verifier (each has its own cache). Flat strings, as an
// HTTP parser hands them over (jose returns concatenations, which V8 would flatten on the first
// read, at the cost of whichever verifier reads first).
const flat = (list) => list.map((t) => Buffer.from(t, 'latin1').toString('latin1'))
const count = WARM + ROUNDS * BATCH
console.log(`micro: signing ${3 * count} tokens and ${count} DPoP proofs`)
const minted = {
  RS256: flat(await mintPool(count, (i) => sign(keys.RS256, claims(ISSUER, AUDIENCE, i)))),
  ES256: flat(await mintPool(count, (i) => sign(keys.ES256, claims(ISSUER, AUDIENCE, i)))),
  bad: flat(await mintPool(count, (i) => sign(forger, claims(ISSUER, AUDIENCE, i)))),
}
// A DPoP-bound token (RFC 9449 §6.1), and a fresh proof for each use (§4.2), signed now: their
// iat stays within the validator's 300 s window for a run of a few minutes.
const bound = await sign(keys.RS256, { ...claims(ISSUER, AUDIENCE, -2), cnf: { jkt: client.jkt } })
minted.proof = Array.from({ length: count }, () =>
  client.proof({ method: 'GET', url: RESOURCE, accessToken: bound }),
)
// 'check': three tokens to see that a case accepts (or refuses) what it should; 'warm': the rest
// of the warm-up share (a DPoP proof is accepted once only).
const share = (list, round) =>
  round === 'check'
    ? list.slice(0, 3)
    : round === 'warm'
      ? list.slice(3, WARM)
      : list.slice(WARM + round * BATCH, WARM + (round + 1) * BATCH)
const repeated = (token) => () => Array(BATCH).fill(token)

// ---------------------------------------------------------------------------------------------
// Verifiers.

const tw = await tokenward(createValidator, env)
const twNow = (token) => tw.authenticateNow(`Bearer ${token}`)
// Its own validator: each verifier has its own cache, so each token is new to each.
const twPromise = await tokenward(createValidator, env)
const twDpop = await tokenward(createValidator, {
  ...env,
  algorithms: ['RS256', 'ES256'],
  dpop: { algorithms: ['ES256'] },
  http: { baseUrl: 'https://api.bench.test' },
})
const replay = createMemoryReplayStore()
const seconds = () => Math.floor(Date.now() / 1000)
/** RFC 9449 §4.3 on one proof: what the core checks, without the token. */
const proofOnly = (proof) =>
  checkDpopProof(proof, {
    method: 'GET',
    url: RESOURCE,
    accessToken: bound,
    now: seconds(),
    algorithms: ['ES256'],
    replay,
  })
/** A whole DPoP request: the bound token (cached after its first use) and a fresh proof. */
const dpopRequest = (proof) =>
  twDpop.authenticateNow(`DPoP ${bound}`, undefined, {
    method: 'GET',
    url: RESOURCE,
    headers: { dpop: proof },
  })

const floor = {
  RS256: nodeCrypto('RS256', keys.RS256.publicKey),
  ES256: nodeCrypto('ES256', keys.ES256.publicKey),
  proof: nodeCrypto('ES256', client.publicKey),
}
const peers = [
  ['jose `jwtVerify` (`createLocalJWKSet`)', (alg) => jose(alg, env)],
  [
    'fast-jwt `createVerifier` (static PEM key, no cache)',
    (alg) => fastJwt(alg, keys[alg].pem, false, env),
  ],
  [
    'fast-jwt `createVerifier` (static PEM key, `cache: true`)',
    (alg) => fastJwt(alg, keys[alg].pem, true, env),
  ],
  ['aws-jwt-verify `JwtVerifier` (`cacheJwks`)', () => aws(env)],
]

/**
 * The cases: `group` (a table), `label` (its row), `column`, the verifier, its tokens per round,
 * and whether they must be accepted. `floor` names the node:crypto case of the same tokens.
 */
const cases = []
const jwtColumns = [
  { column: 'new RS256', alg: 'RS256', tokens: (r) => share(minted.RS256, r), accept: true },
  { column: 'new ES256', alg: 'ES256', tokens: (r) => share(minted.ES256, r), accept: true },
  { column: 'same RS256 (cached)', alg: 'RS256', tokens: repeated(minted.RS256[0]), accept: true },
  {
    column: 'bad RS256 signature, new',
    alg: 'RS256',
    tokens: (r) => share(minted.bad, r),
    accept: false,
  },
  {
    column: 'same bad signature again',
    alg: 'RS256',
    tokens: repeated(minted.bad[0]),
    accept: false,
  },
]
const TW = '**tokenward** `authenticateNow()` (remote JWKS)'
const TW_VALIDATE = '**tokenward** `validate()` (the same, through a promise)'
const FLOOR = 'node:crypto `verify` (signature only: the floor)'
const jwtRows = [
  [TW, () => twNow],
  [TW_VALIDATE, () => (t) => twPromise.validate(t)],
  [FLOOR, (alg) => floor[alg]],
  ...peers,
]
for (const [label, make] of jwtRows) {
  const fns = { RS256: make('RS256'), ES256: make('ES256') }
  for (const c of jwtColumns) {
    cases.push({
      group: 'jwt',
      label,
      column: c.column,
      fn: fns[c.alg],
      tokens: c.tokens,
      accept: c.accept,
    })
  }
}
const proofs = (r) => share(minted.proof, r)
cases.push(
  {
    group: 'dpop',
    label: '**tokenward** `checkDpopProof()` (the proof alone)',
    column: 'fresh proof',
    fn: proofOnly,
    tokens: proofs,
    accept: true,
  },
  {
    group: 'dpop',
    label: '**tokenward** `authenticateNow()`, DPoP scheme (cached bound token + proof)',
    column: 'fresh proof',
    fn: dpopRequest,
    tokens: proofs,
    accept: true,
  },
  {
    group: 'dpop',
    label: 'node:crypto `verify` of the proof (signature only: the floor)',
    column: 'fresh proof',
    fn: floor.proof,
    tokens: proofs,
    accept: true,
  },
)

// ---------------------------------------------------------------------------------------------
// Measurement.

console.log(`micro: ${ROUNDS} rounds × ${BATCH} verifications per case`)
const failures = await runCases(cases, ROUNDS)

// ---------------------------------------------------------------------------------------------
// Report.

const spread = (values, digits = 1) =>
  `${fmt(median(values), digits)} (${fmt(Math.min(...values), digits)}–${fmt(Math.max(...values), digits)})`
const find = (group, label, column) =>
  cases.find((c) => c.group === group && c.label === label && c.column === column)
function grid(group, what) {
  const labels = [...new Set(cases.filter((c) => c.group === group).map((c) => c.label))]
  const columns = [...new Set(cases.filter((c) => c.group === group).map((c) => c.column))]
  const rows = labels.map((label) => [
    label,
    ...columns.map((column) => {
      const c = find(group, label, column)
      if (failures.has(c)) return `fails: ${failures.get(c)}`
      return spread(c.samples.map((m) => m[what]))
    }),
  ])
  return table(['verifier', ...columns], rows, 'l' + 'r'.repeat(columns.length))
}
/** tokenward over the floor, paired by round: median (lowest–highest). */
function ratio(a, b) {
  if (a === undefined || b === undefined || failures.has(a) || failures.has(b)) return '–'
  return spread(
    a.samples.map((m, i) => m.cpu / b.samples[i].cpu),
    2,
  )
}
const dpopLabels = cases.filter((c) => c.group === 'dpop').map((c) => c.label)
const ratios = [
  ['never-seen RS256 token', ratio(find('jwt', TW, 'new RS256'), find('jwt', FLOOR, 'new RS256'))],
  [
    'never-seen RS256 token, `validate()`',
    ratio(find('jwt', TW_VALIDATE, 'new RS256'), find('jwt', FLOOR, 'new RS256')),
  ],
  ['never-seen ES256 token', ratio(find('jwt', TW, 'new ES256'), find('jwt', FLOOR, 'new ES256'))],
  [
    'bad RS256 signature, never seen',
    ratio(
      find('jwt', TW, 'bad RS256 signature, new'),
      find('jwt', FLOOR, 'bad RS256 signature, new'),
    ),
  ],
  [
    'DPoP proof (`checkDpopProof`)',
    ratio(find('dpop', dpopLabels[0], 'fresh proof'), find('dpop', dpopLabels[2], 'fresh proof')),
  ],
  [
    'DPoP request (cached bound token + proof)',
    ratio(find('dpop', dpopLabels[1], 'fresh proof'), find('dpop', dpopLabels[2], 'fresh proof')),
  ],
]

const markdown = [
  '# tokenward micro benchmark',
  '',
  `- Date: ${new Date().toISOString()}`,
  `- Machine: ${machine()}`,
  `- ${ROUNDS} interleaved rounds of ${BATCH} verifications per case, one after another (each awaited when it returns a promise), one process, unpinned. Each cell: the median over the rounds, and (lowest–highest round).`,
  '- Every verifier checks the signature, `iss`, `aud` and `exp` (node:crypto: the signature only, the floor). RSA 2048 and P-256 keys. "New" tokens are distinct, each seen once by each verifier; "bad" ones carry valid claims and the right `kid`, signed by another key.',
  ...(warning === undefined ? [] : [`- ${warning}`]),
  '',
  '## tokenward against the floor',
  '',
  "tokenward's CPU per verification over node:crypto `verify` on the same input (the same tokens; for DPoP, the proof's signing input and P-256 key), paired by round.",
  '',
  table(['case', '× `crypto.verify` (CPU)'], ratios, 'lr'),
  '',
  '## CPU µs per verification',
  '',
  "User + system time of the process per verification, every thread counted (jose verifies through WebCrypto, on libuv's thread pool).",
  '',
  grid('jwt', 'cpu'),
  '',
  '## DPoP proofs, CPU µs',
  '',
  'A fresh ES256 proof (RFC 9449 §4.2: its own `jti`, `htm`, `htu`, `iat`, `ath`) per verification, one client key; the replay store in memory.',
  '',
  grid('dpop', 'cpu'),
  '',
  '## Wall-clock µs per verification',
  '',
  grid('jwt', 'wall'),
  '',
  grid('dpop', 'wall'),
  '',
].join('\n')

mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
const out = process.env.MICRO_OUT ?? fileURLToPath(new URL('./results/micro.md', import.meta.url))
writeFileSync(out, markdown)
console.log(`\n${markdown}`)
