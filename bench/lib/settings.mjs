/* global URL, console, process */
// The HTTP benchmark's settings, from BENCH_* environment variables (see README.md).
import { fileURLToPath } from 'node:url'
import { CONTENDERS } from '../servers/contenders.mjs'
import { SCENARIOS } from './scenarios.mjs'

const here = fileURLToPath(new URL('..', import.meta.url))

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

function listEnv(name) {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === '') return undefined
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
}

export const settings = {
  duration: numberEnv('BENCH_DURATION', 1, 0.5),
  warmup: numberEnv('BENCH_WARMUP', 0.5, 0),
  repeats: Math.round(numberEnv('BENCH_REPEATS', 5, 1)),
  connections: Math.round(numberEnv('BENCH_CONNECTIONS', 16, 1)),
  poolSize: Math.round(numberEnv('BENCH_POOL_SIZE', 1024, 1)),
  newRate: numberEnv('BENCH_NEW_RATE', 15_000, 100),
  coldRate: numberEnv('BENCH_COLD_RATE', 6_000, 100),
  dpopRate: numberEnv('BENCH_DPOP_RATE', 12_000, 100),
  mintSeconds: numberEnv('BENCH_MINT_SECONDS', 45, 1),
  build: process.env.BENCH_BUILD !== '0',
  pin: process.env.BENCH_PIN !== '0',
  cpuProf: process.env.BENCH_CPU_PROF === '1',
  scenarios: listEnv('BENCH_SCENARIOS') ?? Object.keys(SCENARIOS),
  /** Named contenders, in every scenario; undefined: each scenario's default frameworks. */
  contenders: listEnv('BENCH_CONTENDERS'),
  out: process.env.BENCH_OUT ?? `${here}results/latest.md`,
}

for (const s of settings.scenarios) {
  if (SCENARIOS[s] === undefined) {
    console.error(`bench: unknown scenario "${s}"; known: ${Object.keys(SCENARIOS).join(', ')}`)
    process.exit(2)
  }
}
for (const c of settings.contenders ?? []) {
  if (CONTENDERS[c] === undefined) {
    console.error(`bench: unknown contender "${c}"; known: ${Object.keys(CONTENDERS).join(', ')}`)
    process.exit(2)
  }
}

/** A bare framework, or a control (a no-op hook): answers 200 whatever the token. */
export function ignoresTokens(name) {
  return CONTENDERS[name].bare === true || CONTENDERS[name].control === true
}

/** The contenders of a scenario, grouped by framework: bare, tokenward, control, peers. */
export function contendersOf(scenario, available) {
  const spec = SCENARIOS[scenario]
  const names = Object.keys(CONTENDERS)
  const chosen =
    settings.contenders ??
    names.filter(
      (name) =>
        CONTENDERS[name].optIn !== true && spec.frameworks.includes(CONTENDERS[name].framework),
    )
  const frameworks = [...new Set(names.map((name) => CONTENDERS[name].framework))]
  const rank = (name) => {
    const c = CONTENDERS[name]
    return c.bare === true ? 0 : c.tokenward !== undefined ? 1 : c.control === true ? 2 : 3
  }
  return chosen
    .filter((name) => available.has(name))
    .filter(
      (name) =>
        spec.tokenwardOnly !== true ||
        CONTENDERS[name].bare === true ||
        CONTENDERS[name].tokenward !== undefined,
    )
    .sort(
      (a, b) =>
        frameworks.indexOf(CONTENDERS[a].framework) - frameworks.indexOf(CONTENDERS[b].framework) ||
        rank(a) - rank(b),
    )
}
