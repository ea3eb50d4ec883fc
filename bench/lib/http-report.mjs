/* global process */
// The HTTP benchmark's report: paired figures per contender (each run against its framework's
// bare run of the same round), the summary tables and the details, as markdown.
import { cpus, totalmem } from 'node:os'
import { CONTENDERS } from '../servers/contenders.mjs'
import { SCHEDSTAT, CLK_TCK } from './cpu.mjs'
import { SCENARIOS } from './scenarios.mjs'
import { fmt, median, table } from './report.mjs'

/** JSON as the repository's Prettier set-up writes it (so `pnpm lint` accepts the file). */
export async function formatJson(path, value) {
  const text = JSON.stringify(value, null, 2) + '\n'
  try {
    const prettier = await import('prettier')
    const config = (await prettier.resolveConfig(path)) ?? {}
    return await prettier.format(text, { ...config, parser: 'json' })
  } catch {
    return text
  }
}

/** { median, min, max } of the finite values. */
function spread(values) {
  const finite = values.filter(Number.isFinite)
  return finite.length === 0
    ? { median: NaN, min: NaN, max: NaN }
    : { median: median(finite), min: Math.min(...finite), max: Math.max(...finite) }
}

export function summarize(results) {
  const summary = {}
  for (const [scenario, byName] of Object.entries(results)) {
    summary[scenario] = {}
    for (const [name, runs] of Object.entries(byName)) {
      // Paired by round: each run against the bare framework's run of the same round (seconds
      // apart); the machine's slow drifts cancel in each pair.
      const bare = byName[`${CONTENDERS[name].framework}-bare`]
      const paired = (pick) =>
        bare === undefined ? [] : runs.map((r, i) => pick(r, bare[i] ?? {}))
      summary[scenario][name] = {
        rps: median(runs.map((r) => r.rps)),
        p50: median(runs.map((r) => r.p50)),
        p99: median(runs.map((r) => r.p99)),
        cpu: spread(runs.map((r) => r.cpuPerRequest)),
        ratio: spread(paired((r, b) => r.rps / b.rps)),
        beyond: spread(paired((r, b) => r.cpuPerRequest - b.cpuPerRequest)),
        steal: spread(runs.map((r) => r.stealPct)),
        other: spread(runs.map((r) => r.otherPct)),
        unexpected: runs.reduce((n, r) => n + r.unexpected, 0),
        errors: runs.reduce((n, r) => n + r.errors + r.timeouts, 0),
        total: runs.reduce((n, r) => n + r.total, 0),
        capped: runs.filter((r) => r.capped).length,
        runs: runs.length,
      }
    }
  }
  return summary
}

const range = (s, digits) => `${fmt(s.min, digits)}–${fmt(s.max, digits)}`
const flag = (s) => (s.unexpected > 0 || s.errors > 0 ? ' ⚠' : '')
const signed = (value, digits) => `${value > 0 ? '+' : ''}${fmt(value, digits)}`

function header({ settings, extra, notes, skipped }, allRuns) {
  const { machine } = extra
  const load = (l) => l.map((v) => v.toFixed(2)).join(' / ')
  const steals = allRuns.map((r) => r.stealPct)
  const others = allRuns.map((r) => r.otherPct)
  const traffic = Object.values(extra.issuerTraffic).reduce(
    (t, c) => ({
      discovery: t.discovery + c.discovery,
      jwks: t.jwks + c.jwks,
      introspection: t.introspection + c.introspection,
    }),
    { discovery: 0, jwks: 0, introspection: 0 },
  )
  const lines = [
    '# tokenward HTTP benchmark',
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${cpus()[0]?.model?.trim() ?? 'unknown CPU'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}.`,
    `- Load average (1 / 5 / 15 min): ${load(machine.loadStart)} at the start, ${load(machine.loadEnd)} at the end.`,
    `- Steal time over the run: ${fmt(machine.steal, 2)}% of all CPU time (${machine.stealCores.map((s, i) => `core ${i}: ${fmt(s, 2)}%`).join(', ')}); during the measured runs, on ${settings.pin ? "the server's core" : 'all cores'}, ${fmt(spread(steals).median, 2)}% median, ${fmt(spread(steals).max, 2)}% at most.`,
  ]
  if (settings.pin) {
    lines.push(
      `- Other work on the server's core during the measured runs (its busy time not spent by the server): ${fmt(spread(others).median, 1)}% median, ${fmt(spread(others).max, 1)}% at most.`,
    )
  }
  lines.push(
    `- Settings: ${settings.repeats} interleaved rounds × ${settings.duration} s per contender and scenario (+${settings.warmup} s warm-up), ${settings.connections} connections, RS256 tokens, ${settings.poolSize}-token pools; total ${fmt(extra.seconds)} s (tokens ${extra.mintSeconds.toFixed(1)} s).`,
    `- Server CPU: ${SCHEDSTAT ? 'the sum of /proc/<pid>/task/*/schedstat (ns) over the measured run' : `utime + stime of /proc/<pid>/stat (${CLK_TCK} Hz ticks)`}, divided by the answers.`,
    settings.pin
      ? '- Pinning: each server process on core 0 (`taskset -c 0`), frozen (SIGSTOP) except during its own warm-up and runs; autocannon (this driver), the issuer and Redis on core 1.'
      : '- Pinning: none.',
    `- Issuer traffic: ${traffic.discovery} discovery, ${traffic.jwks} JWKS, ${traffic.introspection} introspection requests.`,
  )
  if (settings.cpuProf) {
    lines.push('- **Profiled** (BENCH_CPU_PROF=1): the figures include the profiler.')
  }
  for (const note of notes) lines.push(`- ${note}`)
  for (const [name, reason] of skipped) lines.push(`- Not included: \`${name}\`: ${reason}.`)
  return lines
}

export function report(input) {
  const { results, settings, extra } = input
  const summary = summarize(results)
  const scenarios = Object.keys(results)
  const names = [...new Set(scenarios.flatMap((s) => Object.keys(results[s])))]
  const allRuns = scenarios.flatMap((s) => Object.values(results[s]).flat())
  const lines = header(input, allRuns)
  const titles = scenarios.map((s) => SCENARIOS[s].title)
  const align = 'l' + 'r'.repeat(scenarios.length)
  const others = names.filter((n) => CONTENDERS[n].bare !== true)
  const bares = names.filter((n) => CONTENDERS[n].bare === true)
  const cellOf = (render) => (n) => [
    CONTENDERS[n].label,
    ...scenarios.map((s) => (summary[s][n] === undefined ? '–' : render(summary[s][n]))),
  ]

  lines.push(
    '',
    '## Server CPU per request beyond the bare framework',
    '',
    `µs of server CPU per request beyond the same framework's bare server in the same round: the median over the ${settings.repeats} rounds, and (lowest–highest). The no-op controls show how far apart two near-equal servers measure. ⚠ = some answers were not the expected status (see the details).`,
    '',
    table(
      ['contender', ...titles],
      others.map(cellOf((s) => `${signed(s.beyond.median, 1)} (${range(s.beyond, 1)})${flag(s)}`)),
      align,
    ),
    '',
    '## req/s against the bare framework',
    '',
    'Each run over the bare run of the same round: the median, and (lowest–highest).',
    '',
    table(
      ['contender', ...titles],
      others.map(cellOf((s) => `${fmt(s.ratio.median, 2)} (${range(s.ratio, 2)})${flag(s)}`)),
      align,
    ),
    '',
    '## Bare frameworks',
    '',
    'Server CPU µs per request and req/s (medians).',
    '',
    table(
      ['framework', ...titles],
      bares.map(cellOf((s) => `${fmt(s.cpu.median, 1)} µs · ${fmt(s.rps)}/s`)),
      align,
    ),
  )

  for (const scenario of scenarios) {
    const traffic = extra.issuerTraffic[scenario]
    lines.push('', `## ${SCENARIOS[scenario].title} (\`${scenario}\`)`, '')
    if (traffic !== undefined) {
      lines.push(
        `Issuer traffic during this scenario (warm-ups included): ${traffic.discovery} discovery, ${traffic.jwks} JWKS, ${traffic.introspection} introspection requests.`,
        '',
      )
    }
    lines.push(
      table(
        [
          'contender',
          'req/s',
          '× bare (range)',
          'CPU µs/req',
          'beyond bare (range)',
          'p50 ms',
          'p99 ms',
          'answers',
          'unexpected',
          'steal % max',
          'other % max',
        ],
        Object.entries(summary[scenario]).map(([name, s]) => {
          const bare = CONTENDERS[name].bare === true
          return [
            CONTENDERS[name].label,
            fmt(s.rps),
            bare ? '–' : `${fmt(s.ratio.median, 2)} (${range(s.ratio, 2)})`,
            `${fmt(s.cpu.median, 1)} (${range(s.cpu, 1)})`,
            bare ? '–' : `${signed(s.beyond.median, 1)} (${range(s.beyond, 1)})`,
            fmt(s.p50, 2),
            fmt(s.p99, 2),
            fmt(s.total),
            `${s.unexpected + s.errors}${s.capped > 0 ? ` (${s.capped} of ${s.runs} runs used up their share)` : ''}`,
            fmt(s.steal.max, 1),
            fmt(s.other.max, 1),
          ]
        }),
        'lrrrrrrrrrr',
      ),
    )
  }
  lines.push('', 'Scenarios, method and caveats: bench/README.md.', '')
  return lines.join('\n')
}
