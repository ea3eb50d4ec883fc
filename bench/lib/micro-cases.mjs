/* global process */
// The measurement of the micro benchmark: each case checked, warmed up, then timed one batch per
// round, every case in every round (interleaved: the machine's drift hits all cases alike).

/** Calls `fn(token)`, awaiting a promise; a refusal is swallowed when `accept` is false. */
async function once(fn, token, accept) {
  try {
    const result = fn(token)
    if (result !== undefined && typeof result.then === 'function') await result
  } catch (error) {
    if (accept) throw error
  }
}

/** Wall-clock and CPU (every thread: WebCrypto verifies on libuv's pool) µs per verification. */
async function time(fn, list, accept) {
  const cpu = process.cpuUsage()
  const start = process.hrtime.bigint()
  for (const token of list) await once(fn, token, accept)
  const wall = Number(process.hrtime.bigint() - start) / 1000 / list.length
  const used = process.cpuUsage(cpu)
  return { wall, cpu: (used.user + used.system) / list.length }
}

/**
 * Runs the cases ({ fn, tokens(round), accept }; round: 'check', 'warm' or 0…rounds-1): each
 * first checked to accept (or refuse) what it should, then warmed up, then `rounds` interleaved
 * rounds, whose figures go to `case.samples`. Resolves the cases that failed their check, each
 * with why.
 */
export async function runCases(cases, rounds) {
  const failures = new Map()
  for (const c of cases) {
    for (const token of c.tokens('check')) {
      let outcome = 'accepted'
      try {
        await once(c.fn, token, true)
      } catch (error) {
        outcome = `refused (${error?.code ?? error?.message ?? String(error)})`
      }
      if ((outcome === 'accepted') !== c.accept) {
        failures.set(c, c.accept ? outcome : 'accepts a forged signature')
        break
      }
    }
  }
  for (const c of cases) if (!failures.has(c)) await time(c.fn, c.tokens('warm'), c.accept)
  for (let round = 0; round < rounds; round++) {
    for (const c of cases) {
      if (failures.has(c)) continue
      ;(c.samples ??= []).push(await time(c.fn, c.tokens(round), c.accept))
    }
  }
  return failures
}
