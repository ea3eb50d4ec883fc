/* global URL, console, fetch, process */
// The HTTP benchmark (`pnpm bench`): every contender behind the same route, interleaved paired
// rounds with the bare frameworks and the no-op controls, server CPU per request as the headline.
// Settings: BENCH_* environment variables (lib/settings.mjs, README.md). Writes
// results/latest.md and .json.
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { CONTENDERS, adapterStatus, unavailable } from './servers/contenders.mjs'
import { SCHEDSTAT, systemBetween, systemStat } from './lib/cpu.mjs'
import { killAllOnInterrupt, startProcess, stopAll } from './lib/procs.mjs'
import { redisUnavailable, startRedis } from './lib/redis.mjs'
import { DPOP_BASE_URL, SCENARIOS, prepareSupply } from './lib/scenarios.mjs'
import { contendersOf, settings } from './lib/settings.mjs'
import { signingKey } from './lib/tokens.mjs'
import { formatJson, report } from './lib/http-report.mjs'
import { DRIVER_CORE, runScenario } from './lib/rounds.mjs'
import { quietWarning } from './lib/report.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const here = fileURLToPath(new URL('.', import.meta.url))
const AUDIENCE = 'https://api.bench.test'
const notes = []
const t0 = Date.now()
const log = (...args) =>
  console.log(`bench: [${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s]`, ...args)
killAllOnInterrupt()

function checkPinning() {
  if (!settings.pin) {
    notes.push('**Not pinned** (BENCH_PIN=0): servers, load and issuer share every core.')
    return
  }
  const taskset = spawnSync('taskset', ['--version'], { encoding: 'utf8' })
  if (taskset.error !== undefined || taskset.status !== 0) {
    settings.pin = false
    notes.push('**Not pinned:** `taskset` is missing (Debian: `apt-get install util-linux`).')
  } else if (cpus().length < 2) {
    settings.pin = false
    notes.push('**Not pinned:** this machine has one core.')
  }
  if (!settings.pin) log(notes.at(-1).replaceAll('**', ''))
}

/** The scenarios that can run, and a line for each one that cannot. */
function runnableScenarios(skipped) {
  return settings.scenarios.filter((scenario) => {
    if (SCENARIOS[scenario].needsRedis !== true) return true
    const why =
      redisUnavailable() ?? (adapterStatus('redis').ok ? undefined : adapterStatus('redis').reason)
    if (why === undefined) return true
    skipped.push([`scenario ${scenario}`, why])
    log(`skipping scenario ${scenario}: ${why}`)
    return false
  })
}

async function main() {
  const started = Date.now()
  const loadStart = loadavg()
  const sysStart = systemStat()
  const warning = quietWarning()
  if (warning !== undefined) {
    log(warning.replaceAll('**', ''))
    notes.push(warning)
  }
  checkPinning()
  if (!SCHEDSTAT) notes.push('**No schedstat:** server CPU in clock ticks (10 ms at 100 Hz).')

  if (settings.build) {
    log('building the packages (pnpm build; BENCH_BUILD=0 skips this)')
    const build = spawnSync('pnpm', ['build'], { cwd: root, stdio: 'inherit' })
    if (build.status !== 0) {
      console.error('bench: `pnpm build` failed; the tokenward contenders would run stale code.')
      process.exit(1)
    }
  }

  const skipped = []
  const available = new Set()
  for (const name of Object.keys(CONTENDERS)) {
    const reason = unavailable(name)
    if (reason === undefined) available.add(name)
    else if (
      settings.contenders === undefined
        ? CONTENDERS[name].optIn !== true
        : settings.contenders.includes(name)
    )
      skipped.push([name, reason])
  }
  for (const [name, reason] of skipped) log(`skipping ${name}: ${reason}`)
  const scenarios = runnableScenarios(skipped)
  const plan = scenarios.map((s) => [s, contendersOf(s, available)])

  const pairs = plan.reduce((n, [, names]) => n + names.length, 0)
  const mint = scenarios.includes('new')
    ? Math.min(
        (settings.repeats * settings.duration * settings.newRate + 5000) / 3000,
        settings.mintSeconds,
      )
    : 0
  // Per pair: warm-up, rounds (each with ~0.15 s of set-up), server start and stop; a pool of
  // opaque tokens is introspected once in each server's warm-up (~1 ms a token).
  const primes = plan
    .filter(([s]) => s === 'opaque-pool' || s === 'redis')
    .reduce((n, [, names]) => n + names.length, 0)
  const estimate =
    pairs * (settings.warmup + 0.3 + settings.repeats * (settings.duration + 0.15)) +
    primes * settings.poolSize * 0.001 +
    mint
  log(
    `${pairs} contender × scenario pairs, ${settings.repeats} × ${settings.duration} s each (+${settings.warmup} s warm-up): about ${(estimate / 60).toFixed(1)} min from here`,
  )

  if (process.env.BENCH_PLAN === '1') {
    for (const [scenario, names] of plan) log(`${scenario}: ${names.join(', ')}`)
    return
  }

  // Keys, issuer, Redis, tokens.
  const key = await signingKey('RS256', 'bench-rs256')
  const forger = await signingKey('RS256', 'bench-rs256') // same kid, another key
  const issuerProc = await startProcess({
    script: `${here}lib/issuer.mjs`,
    cpu: DRIVER_CORE,
    pin: settings.pin,
    env: { BENCH_ISSUER_JWKS: JSON.stringify({ keys: [key.jwk] }), BENCH_AUDIENCE: AUDIENCE },
  })
  const issuer = `http://127.0.0.1:${issuerProc.port}`
  const serverEnv = {
    BENCH_ISSUER: issuer,
    BENCH_JWKS_URI: `${issuer}/jwks`,
    BENCH_AUDIENCE: AUDIENCE,
    BENCH_PUBLIC_KEY_PEM: key.pem,
    BENCH_DPOP_BASE_URL: DPOP_BASE_URL,
  }
  if (scenarios.some((s) => SCENARIOS[s].needsRedis === true)) {
    const redis = await startRedis({ cpu: DRIVER_CORE, pin: settings.pin })
    serverEnv.BENCH_REDIS_URL = redis.url
    log(`redis-server on ${redis.url}`)
  }

  const mintStart = Date.now()
  const ctx = {
    settings,
    key,
    forger,
    issuer,
    audience: AUDIENCE,
    deadline: mintStart + settings.mintSeconds * 1000,
  }
  const supplies = {}
  for (const scenario of scenarios) {
    supplies[scenario] = await prepareSupply(scenario, ctx)
    if (supplies[scenario].short !== undefined) notes.push(supplies[scenario].short)
  }
  const mintSeconds = (Date.now() - mintStart) / 1000
  log(`tokens ready in ${mintSeconds.toFixed(1)} s`)

  // From here on this process (autocannon) shares its core with the issuer and Redis.
  if (settings.pin) {
    const pinned = spawnSync(
      'taskset',
      ['-a', '-p', '-c', String(DRIVER_CORE), String(process.pid)],
      { encoding: 'utf8' },
    )
    if (pinned.status !== 0)
      notes.push(`**Driver not pinned** (taskset -a -p failed: ${pinned.stderr.trim()}).`)
  }

  const results = {} // scenario → contender → [run]
  const issuerTraffic = {} // scenario → counts during it
  const counts = () => fetch(`${issuer}/counts`).then((r) => r.json())
  for (const [scenario, names] of plan) {
    if (names.length === 0) continue
    const before = await counts()
    results[scenario] = await runScenario(scenario, names, supplies[scenario], serverEnv, {
      log,
      notes,
    })
    const after = await counts()
    issuerTraffic[scenario] = Object.fromEntries(
      Object.keys(after).map((k) => [k, after[k] - before[k]]),
    )
  }
  await stopAll()

  const sysEnd = systemStat()
  const machine = {
    loadStart,
    loadEnd: loadavg(),
    steal: systemBetween(sysStart, sysEnd).stealPct,
    stealCores: sysStart.cores.map((_, i) => systemBetween(sysStart, sysEnd, i).stealPct),
  }
  const extra = { seconds: (Date.now() - started) / 1000, mintSeconds, issuerTraffic, machine }
  const markdown = report({ results, skipped, notes, settings, extra })
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
  writeFileSync(settings.out, markdown)
  const jsonPath = settings.out.replace(/\.md$/, '') + '.json'
  writeFileSync(
    jsonPath,
    await formatJson(jsonPath, { settings, notes, skipped, machine, issuerTraffic, results }),
  )
  console.log(`\n${markdown}`)
  log(`written to ${settings.out}`)
}

main().catch(async (error) => {
  console.error(error)
  await stopAll()
  process.exit(1)
})
