// The report of memory.mjs: the RSS / heap curve against the budgets of the verdict caches, and
// the latency of cached requests at each checkpoint.
import { fmt, table } from './report.mjs'

/** tokenward's defaults (packages/core/src/options.ts, verdicts.ts). */
const DEFAULT_MAX = 10_000
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024
/** verdicts.ts: characters of forged tokens the forged-signature cache may hold. */
const FORGED_BUDGET_CHARS = 4 * 1024 * 1024

/**
 * What the verdict caches may hold by tokenward's own accounting: verified entries counted
 * 512 bytes + 2 per character of the token (`entryBytes`, verdicts.ts), at most `max` of them
 * and `maxBytes` in all; forged ones at most `max` and 4 Mi characters.
 */
export function budgetOf(tokenCache, validLength, forgedLength) {
  const max = tokenCache.max ?? DEFAULT_MAX
  const maxBytes = tokenCache.maxBytes ?? DEFAULT_MAX_BYTES
  const entryBytes = 512 + 2 * validLength
  const verifiedEntries = Math.min(max, Math.floor(maxBytes / entryBytes))
  const forgedEntries = Math.min(max, Math.floor(FORGED_BUDGET_CHARS / forgedLength))
  return {
    max,
    maxBytes,
    verifiedEntries,
    verifiedBytes: verifiedEntries * entryBytes,
    forgedEntries,
    // One-byte strings: a character is a byte (plus the string's header, not counted here).
    forgedBytes: forgedEntries * forgedLength,
  }
}

const mib = (bytes) => fmt(bytes / 2 ** 20, 1)
const us = (value) => fmt(value, 1)

export function markdown({ rows, settings, budget, machine, warning }) {
  const base = rows[0]
  const budgetBytes = budget.verifiedBytes + budget.forgedBytes
  // The first checkpoint at which both caches can be full: growth after it is not the caches.
  const full = rows.find(
    (r) => r.valid >= budget.verifiedEntries && r.forged >= budget.forgedEntries && r.done > 0,
  )
  const later = full === undefined ? [] : rows.filter((r) => r.done > full.done)
  const grows = (pick) => later.some((r) => pick(r) > 1.1 * pick(full))
  const flat = full !== undefined && !grows((r) => r.rss) && !grows((r) => r.heapUsed)
  const peakGrowth = Math.max(...rows.map((r) => r.heapUsed - base.heapUsed))
  const within = peakGrowth <= budgetBytes
  const firstP99 = full?.quiet.p99
  const lastP99 = rows.at(-1).quiet.p99
  const latencyGrows = full !== undefined && lastP99 > 1.5 * firstP99 && lastP99 - firstP99 > 5
  const last = rows.at(-1)

  const lines = [
    '# tokenward memory and scale benchmark',
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${machine}`,
    `- One validator, default options${Object.keys(settings.tokenCache).length === 0 ? '' : ` but \`tokenCache: ${JSON.stringify(settings.tokenCache)}\``}: ${fmt(last.valid)} distinct valid ES256 tokens and ${fmt(last.forged)} distinct forged RS256 ones (of ${fmt(settings.VALID)} and ${fmt(settings.FORGED)} asked), mixed, one after another${settings.stopped ? `, **stopped by MEMORY_SECONDS=${settings.SECONDS}**` : ''}; ${fmt(last.accepted)} accepted, ${fmt(last.rejected)} rejected. Every ${settings.HOT_EVERY}th request is one of ${fmt(settings.HOT)} cached tokens (a hot user).`,
    `- Budgets: the verified-token cache holds at most ${fmt(budget.verifiedEntries)} entries here (\`tokenCache.max\` ${fmt(budget.max)}, \`tokenCache.maxBytes\` ${mib(budget.maxBytes)} MiB at 512 + 2 bytes per character), counted ${mib(budget.verifiedBytes)} MiB; the forged-signature cache at most ${fmt(budget.forgedEntries)} tokens (4 Mi characters), ${mib(budget.forgedBytes)} MiB. Together ${mib(budgetBytes)} MiB.`,
    '- Memory after a full GC (`--expose-gc`). Latency of the cached requests: "in stream", those interleaved since the previous checkpoint (GC pauses of the churn included); "alone", 5 passes over the hot tokens right after the GC. `authenticateNow`, as the adapters call it.',
    ...(warning === undefined ? [] : [`- ${warning}`]),
    '',
    table(
      [
        'tokens',
        'valid / forged',
        'tokens/s',
        'RSS MiB',
        'heap used MiB',
        'heap growth MiB',
        'growth / budget',
        'external MiB',
        'in stream p50 / p99 / max µs',
        'alone p50 / p99 µs',
      ],
      rows.map((r) => [
        fmt(r.done),
        `${fmt(r.valid)} / ${fmt(r.forged)}`,
        r.rate === undefined ? '–' : fmt(r.rate),
        mib(r.rss),
        mib(r.heapUsed),
        mib(r.heapUsed - base.heapUsed),
        `${fmt((100 * (r.heapUsed - base.heapUsed)) / budgetBytes, 0)}%`,
        mib(r.external),
        r.stream === undefined
          ? '–'
          : `${us(r.stream.p50)} / ${us(r.stream.p99)} / ${us(r.stream.max)}`,
        `${us(r.quiet.p50)} / ${us(r.quiet.p99)}`,
      ]),
      'lrrrrrrrrr',
    ),
    '',
    full === undefined
      ? '**Too few tokens** for the caches to fill: raise MEMORY_VALID / MEMORY_FORGED.'
      : `**${flat ? 'FLAT' : 'NOT FLAT'}**: from ${fmt(full.done)} tokens on (both caches full), RSS and heap used ${flat ? 'stay within' : 'grow beyond'} +10% of that reading. Heap growth over the start at most ${mib(peakGrowth)} MiB: **${within ? 'within' : `${fmt((100 * peakGrowth) / budgetBytes - 100, 0)}% above`}** the ${mib(budgetBytes)} MiB budget (tokenward's own count, which leaves out the caches' fixed structures). Cached p99 alone: ${us(firstP99)} µs then, ${us(lastP99)} µs at the end: **${latencyGrows ? 'grows' : 'does not grow'}**.`,
    '',
  ]
  // The budget is tokenward's estimate of its entries: reported, not a failure.
  return { markdown: lines.join('\n'), ok: flat && !latencyGrows }
}
