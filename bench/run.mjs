/* global URL, clearTimeout, console, fetch, performance, process, setTimeout */
// The HTTP benchmark (`pnpm bench`): every contender behind the same route, the same RS256
// tokens, interleaved repetitions, medians, ratios to the bare framework of the same run.
// Settings: BENCH_* environment variables (see README.md). Writes results/latest.md and .json.
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon from 'autocannon'
import { CONTENDERS, runtimeBinary, serverEntry, unavailable } from './servers/contenders.mjs'
import { claims, mintPool, opaqueToken, sign, signingKey } from './lib/tokens.mjs'
import { fmt, machine, median, processCpuMicros, quietWarning, table } from './lib/report.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const here = fileURLToPath(new URL('.', import.meta.url))

// ---------------------------------------------------------------------------------------------
// Settings

function numberEnv(name, fallback, min = 0) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value < min) {
    console.error(`bench: ${name} must be a number >= ${min}; got "${raw}"`)
    process.exit(2)
  }
  return value
}

function listEnv(name, fallback) {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === '') return fallback
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
}

const SCENARIOS = {
  same: { title: 'same token', expect: 200 },
  pool: { title: '1024-token pool', expect: 200 },
  bad: { title: 'bad signatures', expect: 401 },
  new: { title: 'every token new', expect: 200 },
  opaque: { title: 'opaque, introspection cache', expect: 200, tokenwardOnly: true },
}

const settings = {
  duration: numberEnv('BENCH_DURATION', 1, 0.5),
  warmup: numberEnv('BENCH_WARMUP', 1, 0),
  repeats: Math.round(numberEnv('BENCH_REPEATS', 6, 1)),
  connections: Math.round(numberEnv('BENCH_CONNECTIONS', 16, 1)),
  poolSize: Math.round(numberEnv('BENCH_POOL_SIZE', 1024, 1)),
  newRate: numberEnv('BENCH_NEW_RATE', 15_000, 100),
  mintSeconds: numberEnv('BENCH_MINT_SECONDS', 45, 1),
  build: process.env.BENCH_BUILD !== '0',
  pin: process.env.BENCH_PIN !== '0',
  cpuProf: process.env.BENCH_CPU_PROF === '1',
  scenarios: listEnv('BENCH_SCENARIOS', Object.keys(SCENARIOS)),
  contenders: listEnv(
    'BENCH_CONTENDERS',
    Object.keys(CONTENDERS).filter((name) => CONTENDERS[name].optIn !== true),
  ),
  out: process.env.BENCH_OUT ?? `${here}results/latest.md`,
}
for (const s of settings.scenarios) {
  if (SCENARIOS[s] === undefined) {
    console.error(`bench: unknown scenario "${s}"; known: ${Object.keys(SCENARIOS).join(', ')}`)
    process.exit(2)
  }
}
for (const c of settings.contenders) {
  if (CONTENDERS[c] === undefined) {
    console.error(`bench: unknown contender "${c}"; known: ${Object.keys(CONTENDERS).join(', ')}`)
    process.exit(2)
  }
}

const AUDIENCE = 'https://api.bench.test'
const notes = []
const t0 = Date.now()
const log = (...args) =>
  console.log(`bench: [${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s]`, ...args)

// ---------------------------------------------------------------------------------------------
// Processes

const children = new Set()

function stopChild(child) {
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
    child.stdin.end()
  })
}

/**
 * SIGSTOP / SIGCONT. A frozen server whose driver died is not left behind: its process group
 * is orphaned, so the kernel sends it SIGHUP and SIGCONT (it exits), and its stdin has ended.
 */
function freeze(child) {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGSTOP')
}
function thaw(child) {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGCONT')
}

/**
 * Starts `node script args` (or another runtime's binary; pinned to `cpu` when pinning),
 * resolves { child, port }.
 */
function startNode(script, args, cpu, env, nodeFlags = [], binary = process.execPath) {
  const command = settings.pin ? 'taskset' : binary
  const argv = settings.pin
    ? ['-c', String(cpu), binary, ...nodeFlags, script, ...args]
    : [...nodeFlags, script, ...args]
  const child = spawn(command, argv, {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, NODE_ENV: 'production', ...env },
  })
  children.add(child)
  child.once('exit', () => children.delete(child))
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${args.join(' ') || script} did not start within 30 s`))
    }, 30_000)
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk) => {
      out += chunk
      const match = /LISTENING (\d+)/.exec(out)
      if (match !== null) {
        clearTimeout(timer)
        child.stdout.removeAllListeners('data')
        child.stdout.resume()
        resolve({ child, port: Number(match[1]) })
      }
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`${args.join(' ') || script} exited (${code ?? signal}) before listening`))
    })
  })
}

async function stopAll() {
  await Promise.all([...children].map(stopChild))
}

process.on('SIGINT', () => {
  for (const child of children) child.kill('SIGKILL')
  process.exit(130)
})

// ---------------------------------------------------------------------------------------------
// Load

/**
 * One autocannon run. `requests(i)` gives connection i its own list of requests (autocannon
 * builds them once; each connection cycles through its list). `maxRequests` caps the run.
 */
function load(port, requestsFor, seconds, maxRequests) {
  let connection = 0
  const options = {
    url: `http://127.0.0.1:${port}/`,
    connections: settings.connections,
    duration: seconds,
    // autocannon acts on its stop condition (time up, request cap reached) at its sampling
    // ticks: 100 ms ticks keep runs within 0.1 s of what was asked.
    sampleInt: 100,
    timeout: 10,
    setupClient(client) {
      client.setRequests(requestsFor(connection++))
    },
  }
  if (maxRequests !== undefined) options.maxOverallRequests = maxRequests
  // autocannon's own histogram has 1 ms steps; this one has 10 µs steps up to 1 s.
  latencies.fill(0)
  // The measured window runs from autocannon's 'start' (its clients built: building 1024
  // requests per connection takes a while) to the last answer.
  let start = 0
  let last = 0
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error, result) => {
      if (error) reject(error)
      else {
        const seconds = (last - start) / 1000
        resolve({ ...result, seconds, p50: percentile(0.5), p99: percentile(0.99) })
      }
    })
    instance.on('start', () => {
      start = performance.now()
    })
    instance.on('response', (_client, _status, _bytes, ms) => {
      last = performance.now()
      latencies[Math.min(LATENCY_BUCKETS - 1, Math.floor(ms * 100))]++
    })
  })
}

const LATENCY_BUCKETS = 100_000
const latencies = new Uint32Array(LATENCY_BUCKETS)

/** The latency (ms) below which a fraction `q` of the answers of the last run came. */
function percentile(q) {
  let total = 0
  for (const n of latencies) total += n
  let seen = 0
  for (let i = 0; i < LATENCY_BUCKETS; i++) {
    seen += latencies[i]
    if (seen >= q * total && total > 0) return (i + 0.5) / 100
  }
  return NaN
}

const request = (token) => ({
  method: 'GET',
  path: '/',
  headers: { authorization: `Bearer ${token}` },
})

/**
 * Every connection cycles through its own part of `tokens` (all of them when there are fewer
 * tokens than connections), so every token is used about as often. autocannon builds each
 * connection's requests before the run: giving each connection the whole list would cost
 * 16 × 1,024 builds per run.
 */
function cycled(tokens) {
  return tokens.length < settings.connections ? () => tokens.map(request) : shared(tokens)
}

/** Connection i gets its own share of `tokens` (the shares autocannon's request cap uses). */
function shared(tokens) {
  return (i) => {
    const c = settings.connections
    const base = Math.floor(tokens.length / c)
    const extra = tokens.length % c
    const start = i * base + Math.min(i, extra)
    const end = start + base + (i < extra ? 1 : 0)
    return tokens.slice(start, end).map(request)
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const started = Date.now()
  const warning = quietWarning()
  if (warning !== undefined) {
    log(warning.replaceAll('**', ''))
    notes.push(warning)
  }

  // Pinning needs taskset (util-linux) and two cores.
  if (settings.pin) {
    const taskset = spawnSync('taskset', ['--version'], { encoding: 'utf8' })
    if (taskset.error !== undefined || taskset.status !== 0) {
      settings.pin = false
      notes.push('**Not pinned:** `taskset` is missing (Debian: `apt-get install util-linux`).')
    } else if (cpus().length < 2) {
      settings.pin = false
      notes.push('**Not pinned:** this machine has one core.')
    }
    if (!settings.pin) log(notes.at(-1).replaceAll('**', ''))
  } else {
    notes.push('**Not pinned** (BENCH_PIN=0): servers, load and issuer share every core.')
  }

  if (settings.build) {
    log('building the packages (pnpm build; BENCH_BUILD=0 skips this)')
    const build = spawnSync('pnpm', ['build'], { cwd: root, stdio: 'inherit' })
    if (build.status !== 0) {
      console.error('bench: `pnpm build` failed; the tokenward contenders would run stale code.')
      process.exit(1)
    }
  }

  // Contenders that can run, and why the others cannot.
  const skipped = []
  const contenders = settings.contenders.filter((name) => {
    const reason = unavailable(name)
    if (reason !== undefined) skipped.push([name, reason])
    return reason === undefined
  })
  for (const [name, reason] of skipped) log(`skipping ${name}: ${reason}`)
  // Grouped by framework, the bare one first and tokenward next: in every round each contender
  // runs right before or after its neighbours, so its ratio compares runs seconds apart.
  const rank = (name) =>
    CONTENDERS[name].bare === true
      ? 0
      : CONTENDERS[name].tokenward !== undefined
        ? 1
        : CONTENDERS[name].control === true
          ? 2
          : 3
  const frameworks = [...new Set(contenders.map((name) => CONTENDERS[name].framework))]
  const inScenario = (scenario) =>
    contenders
      .filter(
        (name) =>
          !SCENARIOS[scenario].tokenwardOnly ||
          CONTENDERS[name].bare === true ||
          CONTENDERS[name].tokenward !== undefined,
      )
      .sort(
        (a, b) =>
          frameworks.indexOf(CONTENDERS[a].framework) -
            frameworks.indexOf(CONTENDERS[b].framework) || rank(a) - rank(b),
      )

  const runs = settings.scenarios.reduce((n, s) => n + inScenario(s).length, 0)
  // Load, pauses and server start-up per pair, plus minting the every-token-new pool.
  const newTokens = settings.scenarios.includes('new')
    ? settings.repeats * settings.duration * settings.newRate + 5000
    : 0
  const estimate =
    runs * (Math.max(settings.warmup, 0.5) + settings.repeats * (settings.duration + 0.2) + 0.6) +
    Math.min(newTokens / 3000, settings.mintSeconds)
  log(
    `${runs} contender × scenario pairs, ${settings.repeats} × ${settings.duration} s each ` +
      `(+${settings.warmup} s warm-up): about ${Math.ceil(estimate / 60)} min from here`,
  )

  // Keys, issuer, tokens.
  const key = await signingKey('RS256', 'bench-rs256')
  const forger = await signingKey('RS256', 'bench-rs256') // same kid, another key
  const issuerProc = await startNode(`${here}lib/issuer.mjs`, [], 1, {
    BENCH_ISSUER_JWKS: JSON.stringify({ keys: [key.jwk] }),
    BENCH_AUDIENCE: AUDIENCE,
  })
  const issuer = `http://127.0.0.1:${issuerProc.port}`
  const serverEnv = {
    BENCH_ISSUER: issuer,
    BENCH_JWKS_URI: `${issuer}/jwks`,
    BENCH_AUDIENCE: AUDIENCE,
    BENCH_PUBLIC_KEY_PEM: key.pem,
  }

  const mintStart = Date.now()
  const deadline = mintStart + settings.mintSeconds * 1000
  const valid = (i) => sign(key, claims(issuer, AUDIENCE, i))
  const tokens = {}
  const want = (s) => settings.scenarios.includes(s)
  if (want('same')) tokens.same = [await valid(0)]
  if (want('pool')) tokens.pool = await mintPool(settings.poolSize, (i) => valid(1 + i))
  if (want('bad')) {
    tokens.bad = await mintPool(settings.poolSize, (i) =>
      sign(forger, claims(issuer, AUDIENCE, 100_000 + i)),
    )
  }
  if (want('opaque')) tokens.opaque = Array.from({ length: settings.poolSize }, opaqueToken)
  let perRun
  if (want('new')) {
    // Tokens are new to each server process: one share per repetition (the same shares serve
    // every contender, each in its own process), plus a separate warm-up share.
    perRun = Math.ceil(settings.duration * settings.newRate)
    const warm = Math.min(Math.ceil(settings.warmup * settings.newRate), 5000)
    const count = warm + settings.repeats * perRun
    const minted = await mintPool(count, (i) => valid(1_000_000 + i), { deadline })
    if (minted.length < count) {
      perRun = Math.floor((minted.length - Math.min(warm, minted.length / 4)) / settings.repeats)
      notes.push(
        `Every-token-new pool cut to ${fmt(minted.length)} tokens by BENCH_MINT_SECONDS=${settings.mintSeconds}: runs stop after ${fmt(perRun)} requests.`,
      )
    }
    const warmCount = minted.length - settings.repeats * perRun
    tokens.newWarm = minted.slice(0, warmCount)
    tokens.newRuns = Array.from({ length: settings.repeats }, (_, r) =>
      minted.slice(warmCount + r * perRun, warmCount + (r + 1) * perRun),
    )
  }
  const mintSeconds = (Date.now() - mintStart) / 1000
  log(`tokens ready in ${mintSeconds.toFixed(1)} s`)

  // From here on this process (autocannon) shares core 1 with the issuer.
  if (settings.pin) {
    const pinned = spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], {
      encoding: 'utf8',
    })
    if (pinned.status !== 0) {
      notes.push(`**Driver not pinned** (taskset -a -p failed: ${pinned.stderr.trim()}).`)
    }
  }
  const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100

  const results = {} // scenario → contender → [run]
  for (const scenario of settings.scenarios) {
    const names = inScenario(scenario)
    log(`scenario "${scenario}": starting ${names.length} servers`)
    const servers = {}
    for (const name of names) {
      // BENCH_CPU_PROF=1: a V8 CPU profile per server, for diagnosis (it slows the server).
      const binary = runtimeBinary(name)
      const flags =
        settings.cpuProf && binary === undefined
          ? [
              '--cpu-prof',
              `--cpu-prof-dir=${here}results/profiles`,
              `--cpu-prof-name=${scenario}-${name}.cpuprofile`,
            ]
          : []
      servers[name] = await startNode(serverEntry, [name, scenario], 0, serverEnv, flags, binary)
      // Frozen except for its own runs: what a server still does once its load stops (V8
      // collecting its garbage when idle) must not land in another server's run.
      freeze(servers[name].child)
      log(`started ${name}`)
    }
    // In `new`, a checking contender gets each token of the run's share once (and stops at its
    // end); a bare framework, which ignores tokens, cycles through the first BENCH_POOL_SIZE of
    // them for the full time. The warm-up share is split between the connections the same way
    // (each connection cycles through its part).
    const requestsFor = (round, name) => {
      if (scenario !== 'new') return cycled(tokens[scenario])
      if (round === 'warm') return cycled(tokens.newWarm)
      const share = tokens.newRuns[round]
      return ignoresTokens(name) ? cycled(share.slice(0, settings.poolSize)) : shared(share)
    }
    const cap = (round, name) =>
      scenario === 'new' && round !== 'warm' && !ignoresTokens(name) ? perRun : undefined

    results[scenario] = {}
    // Warm-up. With a fixed pool (pool, bad, opaque) every token is first sent once, so the
    // measured runs see a server whose caches hold the whole pool (the scenario's steady state);
    // then timed warm-up for what is left of BENCH_WARMUP.
    const fixedPool = ['pool', 'bad', 'opaque'].includes(scenario)
    if (settings.warmup > 0 || fixedPool) {
      for (const name of names) {
        const warmups = []
        let elapsed = 0
        thaw(servers[name].child)
        if (fixedPool) {
          const list = tokens[scenario]
          const prime = await load(servers[name].port, shared(list), 60, list.length)
          warmups.push(prime)
          elapsed = prime.seconds
        }
        if (settings.warmup - elapsed > 0.2) {
          warmups.push(
            await load(servers[name].port, requestsFor('warm', name), settings.warmup - elapsed),
          )
        }
        freeze(servers[name].child)
        log(
          `${scenario} warm-up ${name}: ${warmups.map((w) => `${w.requests.total} in ${w.seconds.toFixed(2)} s`).join(', ')}`,
        )
        const expected = ignoresTokens(name) ? 200 : SCENARIOS[scenario].expect
        for (const warm of warmups) {
          const wrong = warm.requests.total - (warm.statusCodeStats[expected]?.count ?? 0)
          if (wrong > 0 || warm.errors > 0) {
            notes.push(
              `${scenario} / ${name}: warm-up had ${wrong} answers other than ${expected} and ${warm.errors} errors (${JSON.stringify(warm.statusCodeStats)}).`,
            )
          }
        }
      }
    }
    for (let round = 0; round < settings.repeats; round++) {
      // A B C, then C B A: a drift of the machine's speed during a round cancels out in pairs.
      for (const name of round % 2 === 0 ? names : [...names].reverse()) {
        const { child, port } = servers[name]
        thaw(child)
        await sleep(100)
        const before = processCpuMicros(child.pid, ticks)
        const result = await load(
          port,
          requestsFor(round, name),
          settings.duration,
          cap(round, name),
        )
        const cpu = processCpuMicros(child.pid, ticks) - before
        freeze(child)
        const expected = ignoresTokens(name) ? 200 : SCENARIOS[scenario].expect
        const total = result.requests.total
        const run = {
          rps: total / result.seconds,
          total,
          seconds: result.seconds,
          p50: result.p50,
          p99: result.p99,
          unexpected: total - (result.statusCodeStats[expected]?.count ?? 0),
          statuses: Object.fromEntries(
            Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]),
          ),
          errors: result.errors,
          timeouts: result.timeouts,
          cpuPerRequest: total > 0 ? cpu / total : NaN,
        }
        ;(results[scenario][name] ??= []).push(run)
        log(
          `${scenario} #${round + 1} ${name.padEnd(26)} ${fmt(run.rps).padStart(7)} req/s  ` +
            `p50 ${fmt(run.p50, 2)} ms  p99 ${fmt(run.p99, 2)} ms  CPU ${fmt(run.cpuPerRequest, 1)} µs/req` +
            (run.unexpected > 0
              ? `  ${run.unexpected} unexpected (${JSON.stringify(run.statuses)})`
              : ''),
        )
      }
    }
    await Promise.all(names.map((name) => stopChild(servers[name].child)))
  }

  const counts = await fetch(`${issuer}/counts`).then((r) => r.json())
  await stopAll()

  const markdown = report(results, skipped, {
    seconds: (Date.now() - started) / 1000,
    mintSeconds,
    perRun,
    counts,
  })
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
  writeFileSync(settings.out, markdown)
  const jsonPath = settings.out.replace(/\.md$/, '') + '.json'
  writeFileSync(jsonPath, await formatJson(jsonPath, { settings, notes, skipped, results }))
  console.log(`\n${markdown}`)
  log(`written to ${settings.out}`)
}

/** A bare framework, or a control (a no-op hook): answers 200 whatever the token. */
function ignoresTokens(name) {
  return CONTENDERS[name].bare === true || CONTENDERS[name].control === true
}

// ---------------------------------------------------------------------------------------------
// Report

/** JSON as the repository's Prettier set-up writes it (so `pnpm lint` accepts the file). */
async function formatJson(path, value) {
  const text = JSON.stringify(value, null, 2) + '\n'
  try {
    const prettier = await import('prettier')
    const config = (await prettier.resolveConfig(path)) ?? {}
    return await prettier.format(text, { ...config, parser: 'json' })
  } catch {
    return text
  }
}

function summarize(results) {
  const summary = {}
  for (const [scenario, byName] of Object.entries(results)) {
    summary[scenario] = {}
    for (const [name, runs] of Object.entries(byName)) {
      summary[scenario][name] = {
        rps: median(runs.map((r) => r.rps)),
        p50: median(runs.map((r) => r.p50)),
        p99: median(runs.map((r) => r.p99)),
        cpu: median(runs.map((r) => r.cpuPerRequest)),
        unexpected: runs.reduce((n, r) => n + r.unexpected, 0),
        errors: runs.reduce((n, r) => n + r.errors + r.timeouts, 0),
        total: runs.reduce((n, r) => n + r.total, 0),
        short: runs.some((r) => r.seconds < settings.duration * 0.9),
        runs: runs.length,
      }
    }
    for (const [name, s] of Object.entries(summary[scenario])) {
      // Paired by round: each run against the bare framework's run of the same round (seconds
      // apart), then the median of those ratios; the machine's slow drifts cancel in each pair.
      const bare = byName[`${CONTENDERS[name].framework}-bare`]
      const own = byName[name]
      const ratios = bare === undefined ? [] : own.map((r, i) => r.rps / (bare[i]?.rps ?? NaN))
      const beyond =
        bare === undefined
          ? []
          : own.map((r, i) => r.cpuPerRequest - (bare[i]?.cpuPerRequest ?? NaN))
      s.ratio = median(ratios)
      s.ratioRange = [Math.min(...ratios), Math.max(...ratios)]
      s.cpuBeyond = median(beyond)
    }
  }
  return summary
}

function report(results, skipped, extra) {
  const summary = summarize(results)
  const scenarios = Object.keys(results)
  const names = [...new Set(scenarios.flatMap((s) => Object.keys(results[s])))]
  const lines = []
  lines.push('# tokenward HTTP benchmark', '')
  lines.push(`- Date: ${new Date().toISOString()}`)
  lines.push(`- Machine: ${machine()}`)
  lines.push(
    `- Settings: ${settings.repeats} interleaved repetitions × ${settings.duration} s per contender and scenario ` +
      `(+${settings.warmup} s warm-up each), ${settings.connections} connections, RS256 tokens, ` +
      `${settings.poolSize}-token pools; total ${fmt(extra.seconds)} s (minting ${extra.mintSeconds.toFixed(1)} s).`,
  )
  lines.push(
    settings.pin
      ? '- Pinning: each server process on core 0 (`taskset -c 0`), frozen (SIGSTOP) except during its own warm-up and runs; autocannon (this driver) and the issuer on core 1.'
      : '- Pinning: none.',
  )
  lines.push(
    `- Issuer traffic during the run: ${extra.counts.discovery} discovery, ${extra.counts.jwks} JWKS, ${extra.counts.introspection} introspection requests.`,
  )
  if (settings.cpuProf) {
    lines.push(
      '- **Profiled** (BENCH_CPU_PROF=1): the figures include the profiler; profiles in results/profiles/.',
    )
  }
  for (const note of notes) lines.push(`- ${note}`)
  for (const [name, reason] of skipped) lines.push(`- Not included: \`${name}\`: ${reason}.`)
  lines.push('')

  lines.push(
    '## Summary',
    '',
    'req/s as a fraction of the same framework with no auth: the median, over the rounds, of each run against the bare run of the same round; in brackets, server CPU µs per request beyond the bare framework (median of the same pairs). ⚠ = some answers were not the expected status (see details, which also give the range of the ratios).',
    '',
  )
  const cell = (s) =>
    s === undefined
      ? '–'
      : `${fmt(s.ratio, 2)} (${fmt(s.cpuBeyond, 0)})${s.unexpected > 0 || s.errors > 0 ? ' ⚠' : ''}`
  lines.push(
    table(
      ['contender', ...scenarios.map((s) => SCENARIOS[s].title)],
      names
        .filter((n) => CONTENDERS[n].bare !== true)
        .map((n) => [CONTENDERS[n].label, ...scenarios.map((s) => cell(summary[s][n]))]),
      'l' + 'r'.repeat(scenarios.length),
    ),
  )
  lines.push('', 'Bare frameworks, req/s (median):', '')
  lines.push(
    table(
      ['framework', ...scenarios.map((s) => SCENARIOS[s].title)],
      names
        .filter((n) => CONTENDERS[n].bare === true)
        .map((n) => [
          CONTENDERS[n].label,
          ...scenarios.map((s) => (summary[s][n] === undefined ? '–' : fmt(summary[s][n].rps))),
        ]),
      'l' + 'r'.repeat(scenarios.length),
    ),
  )

  for (const scenario of scenarios) {
    lines.push('', `## ${SCENARIOS[scenario].title} (\`${scenario}\`)`, '')
    lines.push(
      table(
        [
          'contender',
          'req/s',
          '× bare',
          'range',
          'CPU µs/req',
          'beyond bare',
          'p50 ms',
          'p99 ms',
          'answers',
          'unexpected',
        ],
        Object.entries(summary[scenario]).map(([name, s]) => [
          CONTENDERS[name].label,
          fmt(s.rps),
          fmt(s.ratio, 2),
          CONTENDERS[name].bare ? '–' : `${fmt(s.ratioRange[0], 2)}–${fmt(s.ratioRange[1], 2)}`,
          fmt(s.cpu, 1),
          CONTENDERS[name].bare ? '–' : fmt(s.cpuBeyond, 1),
          fmt(s.p50, 2),
          fmt(s.p99, 2),
          fmt(s.total),
          `${s.unexpected + s.errors}${s.short ? ' (pool used up: runs ended early)' : ''}`,
        ]),
        'lrrrrrrrrr',
      ),
    )
  }
  lines.push('', 'Scenarios, method and caveats: bench/README.md.', '')
  return lines.join('\n')
}

main().catch(async (error) => {
  console.error(error)
  await stopAll()
  process.exit(1)
})
