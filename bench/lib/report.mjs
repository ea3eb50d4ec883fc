/* global process */
// Small helpers shared by the benchmarks: statistics, markdown tables, machine description.
import { cpus, loadavg, totalmem } from 'node:os'

export function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** A markdown table; `align` is a string of 'l'/'r' per column. */
export function table(header, rows, align = '') {
  const sep = header.map((_, i) => (align[i] === 'r' ? '---:' : '---'))
  return [header, sep, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n')
}

export function fmt(value, digits = 0) {
  if (!Number.isFinite(value)) return '–'
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  })
}

/** One line about this machine and how busy it is. */
export function machine() {
  const cpu = cpus()[0]?.model?.trim() ?? 'unknown CPU'
  const [one, five] = loadavg()
  return (
    `${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, ` +
    `Node ${process.version}, load average ${one.toFixed(2)} / ${five.toFixed(2)} (1 / 5 min)`
  )
}

/** Resident set size of this process in bytes, from /proc (VmRSS), or process.memoryUsage. */
export function rssBytes() {
  return process.memoryUsage.rss()
}

export function quietWarning() {
  const [one] = loadavg()
  return one > 0.7
    ? `**Warning:** the 1-minute load average was ${one.toFixed(2)} at the start: other work was running, so absolute numbers and small differences are not trustworthy.`
    : undefined
}
