/* global process */
// CPU time from /proc: a server process's own time (the headline figure of the HTTP benchmark)
// and the machine's per-core counters (steal, and work on a core that is not the server's).
// Linux only; elsewhere every reading is NaN and the report says so.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'

/** Clock ticks per second of /proc/<pid>/stat and /proc/stat (`getconf CLK_TCK`, usually 100). */
export const CLK_TCK =
  Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100

/** Whether /proc/<pid>/task/<tid>/schedstat (ns of CPU per thread) can be read here. */
export const SCHEDSTAT = existsSync(`/proc/self/task/${process.pid}/schedstat`)

/**
 * CPU time of a process so far, in µs, two ways:
 * - `sched`: the sum over its live threads of the first field of /proc/<pid>/task/<tid>/schedstat
 *   (time on a CPU, in ns: sched_info `run_delay` is the second field). Exact to the µs, but a
 *   thread that exits takes its time with it (Node's and Bun's threads live as long as the
 *   process). NaN when schedstat is missing (kernel without CONFIG_SCHEDSTATS).
 * - `ticks`: utime + stime of /proc/<pid>/stat (the whole process, exited threads included), in
 *   clock ticks: 10 ms steps at 100 Hz.
 */
export function processCpu(pid) {
  let ticks = NaN
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // After "pid (comm) " the state is field 3, so utime (14) and stime (15) are at 11 and 12.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    ticks = ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLK_TCK
  } catch {
    // The process is gone: NaN.
  }
  let sched = NaN
  if (SCHEDSTAT) {
    try {
      let ns = 0
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        try {
          ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
        } catch {
          // The thread ended between the listing and the read: its time is lost (see above).
        }
      }
      sched = ns / 1000
    } catch {
      sched = NaN
    }
  }
  return { sched, ticks }
}

/** µs of CPU between two {@link processCpu} readings: schedstat when there is one, else ticks. */
export function cpuBetween(before, after) {
  const sched = after.sched - before.sched
  return Number.isFinite(sched) ? sched : after.ticks - before.ticks
}

// /proc/stat columns after the name: user nice system idle iowait irq softirq steal guest
// guest_nice. guest and guest_nice are already counted in user and nice. Busy is user, nice and
// system only: irq and softirq time is left out, as most of it on the server's core is the
// loopback traffic of the server's own sockets, which the kernel does not charge to the process.
const BUSY = [0, 1, 2]
const ALL = [0, 1, 2, 3, 4, 5, 6, 7]
const STEAL = 7

/** The counters of /proc/stat: `all` (every core) and `cores[i]`, each an array of ticks. */
export function systemStat() {
  const readings = { all: undefined, cores: [] }
  try {
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      const match = /^cpu(\d*)\s+(.*)$/.exec(line)
      if (match === null) continue
      const values = match[2].trim().split(/\s+/).map(Number)
      if (match[1] === '') readings.all = values
      else readings.cores[Number(match[1])] = values
    }
  } catch {
    // Not Linux: every figure derived from it is NaN.
  }
  return readings
}

const sum = (values, columns) => columns.reduce((n, i) => n + (values?.[i] ?? NaN), 0)

/**
 * What happened on the machine between two {@link systemStat} readings, for every core together
 * (`core` undefined) or one core: `stealPct`, the share of time the hypervisor ran something else
 * while this machine wanted the CPU (steal over all columns), `busyUs`, the CPU time used by
 * processes (user, nice, system), and `totalUs`, all the time counted, steal included (about the
 * wall-clock time for one core, that many times it for all of them). Clock-tick resolution.
 */
export function systemBetween(before, after, core) {
  const a = core === undefined ? before.all : before.cores[core]
  const b = core === undefined ? after.all : after.cores[core]
  const delta = (columns) => sum(b, columns) - sum(a, columns)
  const total = delta(ALL)
  return {
    stealPct: total > 0 ? (100 * (b?.[STEAL] - a?.[STEAL])) / total : NaN,
    busyUs: (delta(BUSY) * 1e6) / CLK_TCK,
    totalUs: (total * 1e6) / CLK_TCK,
  }
}
