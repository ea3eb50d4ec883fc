// A handle on V8's collector without `--expose-gc` on the command line (vitest.config.ts passes no
// execArgv): the flag is switched on at run time and `gc` read from a fresh context, the trick
// jest's leak detector uses. Falls back to `globalThis.gc` when node was started with the flag.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

let collector: (() => void) | undefined

function load(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: () => void }).gc
  if (typeof exposed === 'function') return exposed
  try {
    setFlagsFromString('--expose-gc')
    const gc: unknown = runInNewContext('gc')
    return typeof gc === 'function' ? (gc as () => void) : undefined
  } catch {
    return undefined
  }
}

/** Whether {@link collectGarbage} really collects (false: it only waits for the heap to settle). */
export function canCollectGarbage(): boolean {
  collector ??= load()
  return collector !== undefined
}

/**
 * `heapUsed` once the heap has settled: full collections, with pauses so finalizers (undici's
 * Response streams use a FinalizationRegistry) get to run, until a collection frees less than
 * 64 KB (at most 10 rounds). Without a collector it only waits, so figures include garbage.
 */
export async function settledHeapUsed(): Promise<number> {
  collector ??= load()
  let previous = Number.POSITIVE_INFINITY
  let current = process.memoryUsage().heapUsed
  for (let round = 0; round < 10 && previous - current > 64 * 1024; round++) {
    collector?.()
    await new Promise((resolve) => setTimeout(resolve, 20))
    previous = current
    current = process.memoryUsage().heapUsed
  }
  return current
}
