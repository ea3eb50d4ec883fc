/* global URL */
// The rounds of one scenario of the HTTP benchmark: each server thawed for its own runs only,
// its CPU time and the machine's counters read around each run, paired later by the report.
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { CONTENDERS, runtimeBinary, serverEntry } from '../servers/contenders.mjs'
import { cpuBetween, processCpu, systemBetween, systemStat } from './cpu.mjs'
import { load } from './load.mjs'
import { freeze, startProcess, stopChild, thaw } from './procs.mjs'
import { SCENARIOS } from './scenarios.mjs'
import { ignoresTokens, settings } from './settings.mjs'
import { fmt } from './report.mjs'

const here = fileURLToPath(new URL('..', import.meta.url))
/** The core of the measured server; the driver, the issuer and Redis have the other. */
export const SERVER_CORE = 0
export const DRIVER_CORE = 1

/** One measured run of `name`: thawed, CPU and /proc/stat read around the load, frozen again. */
async function measure(server, lists, cap) {
  thaw(server.child)
  await sleep(50)
  const sysBefore = systemStat()
  const before = processCpu(server.child.pid)
  const result = await load(server.port, lists, settings.duration, cap)
  const after = processCpu(server.child.pid)
  const sysAfter = systemStat()
  freeze(server.child)
  const cpu = cpuBetween(before, after)
  const core = settings.pin ? SERVER_CORE : undefined
  const machine = systemBetween(sysBefore, sysAfter, core)
  return {
    result,
    cpu,
    ticks: after.ticks - before.ticks,
    stealPct: machine.stealPct,
    // Pinned: what else ran on the server's core during its run (busy time not the server's).
    otherPct: settings.pin ? (100 * Math.max(0, machine.busyUs - cpu)) / machine.totalUs : NaN,
  }
}

function record(name, scenario, measured, capped) {
  const { result } = measured
  const expected =
    CONTENDERS[name].answers ?? (ignoresTokens(name) ? 200 : SCENARIOS[scenario].expect)
  const total = result.requests.total
  return {
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
    cpuPerRequest: total > 0 ? measured.cpu / total : NaN,
    ticksPerRequest: total > 0 ? measured.ticks / total : NaN,
    stealPct: measured.stealPct,
    otherPct: measured.otherPct,
    capped,
  }
}

async function warmUp(scenario, name, server, supply, { log, notes }) {
  const warmups = []
  thaw(server.child)
  let elapsed = 0
  if (supply.kind === 'fixed' && supply.prime) {
    // Every token of the pool once: the measured runs meet full caches (the steady state).
    const prime = await load(server.port, supply.lists, 60, supply.count)
    warmups.push(prime)
    elapsed = prime.seconds
  }
  if (settings.warmup - elapsed > 0.2) {
    const lists =
      supply.kind === 'fixed'
        ? supply.lists
        : ignoresTokens(name)
          ? await supply.bare('warm')
          : await supply.lists('warm')
    const cap =
      supply.kind === 'unique' && !ignoresTokens(name)
        ? lists.reduce((n, l) => n + l.length, 0)
        : undefined
    warmups.push(await load(server.port, lists, settings.warmup - elapsed, cap))
  }
  freeze(server.child)
  log(
    `${scenario} warm-up ${name}: ${warmups.map((w) => `${w.requests.total} in ${w.seconds.toFixed(2)} s`).join(', ')}`,
  )
  const expected =
    CONTENDERS[name].answers ?? (ignoresTokens(name) ? 200 : SCENARIOS[scenario].expect)
  for (const warm of warmups) {
    const wrong = warm.requests.total - (warm.statusCodeStats[expected]?.count ?? 0)
    if (wrong > 0 || warm.errors > 0) {
      notes.push(
        `${scenario} / ${name}: warm-up had ${wrong} answers other than ${expected} and ${warm.errors} errors (${JSON.stringify(warm.statusCodeStats)}).`,
      )
    }
  }
}

/**
 * One scenario: its servers started (pinned, frozen), warmed up, then `settings.repeats` rounds
 * of paired runs; resolves contender → [run]. `log` prints progress, `notes` collects warnings.
 */
export async function runScenario(scenario, names, supply, serverEnv, { log, notes }) {
  log(`scenario "${scenario}": starting ${names.length} servers`)
  const servers = {}
  for (const name of names) {
    const binary = runtimeBinary(name)
    // BENCH_CPU_PROF=1: a V8 CPU profile per Node server, for diagnosis (it slows the server).
    const flags =
      settings.cpuProf && binary === undefined
        ? [
            '--cpu-prof',
            `--cpu-prof-dir=${here}results/profiles`,
            `--cpu-prof-name=${scenario}-${name}.cpuprofile`,
          ]
        : []
    const started = await startProcess({
      script: serverEntry,
      args: [name, scenario],
      cpu: SERVER_CORE,
      pin: settings.pin,
      env: serverEnv,
      flags,
      binary,
    })
    servers[name] = started
    // Frozen except for its own runs: what a server still does once its load stops (V8
    // collecting its garbage when idle) must not land in another server's run.
    freeze(started.child)
  }
  if (settings.warmup > 0 || supply.kind === 'fixed') {
    for (const name of names) await warmUp(scenario, name, servers[name], supply, { log, notes })
  }
  const runs = {}
  for (let round = 0; round < settings.repeats; round++) {
    // A B C, then C B A: a drift of the machine's speed during a round cancels out in pairs.
    for (const name of round % 2 === 0 ? names : [...names].reverse()) {
      let lists = supply.lists
      let cap
      if (supply.kind === 'unique') {
        lists = ignoresTokens(name) ? await supply.bare(round) : await supply.lists(round)
        if (!ignoresTokens(name))
          cap = Math.min(
            supply.perRun,
            lists.reduce((n, l) => n + l.length, 0),
          )
      }
      const measured = await measure(servers[name], lists, cap)
      const run = record(
        name,
        scenario,
        measured,
        cap !== undefined && measured.result.requests.total >= cap,
      )
      ;(runs[name] ??= []).push(run)
      log(
        `${scenario} #${round + 1} ${name.padEnd(24)} ${fmt(run.rps).padStart(7)} req/s  ` +
          `CPU ${fmt(run.cpuPerRequest, 1).padStart(6)} µs/req  p50 ${fmt(run.p50, 2)} ms  p99 ${fmt(run.p99, 2)} ms` +
          (run.unexpected > 0
            ? `  ${run.unexpected} unexpected (${JSON.stringify(run.statuses)})`
            : ''),
      )
    }
  }
  await Promise.all(names.map((name) => stopChild(servers[name].child)))
  return runs
}
