/**
 * What operators hear: the `logger` option (console, pino or bunyan shaped, or silence) and the
 * `debug` option, a line per decision for local work. Both are read once, here.
 */
import { ERROR_CODES } from './error-codes.js'
import { fail, isObject } from './option-values.js'
import type { Logger, TokenwardEvent } from './types.js'

/** Without a `logger`, operators still hear of outages and misconfigurations: on stderr. */
const STDERR_LOGGER: Logger = {
  warn: (message, meta) => {
    if (meta === undefined) console.warn(message)
    else console.warn(message, meta)
  },
  error: (message, meta) => {
    if (meta === undefined) console.error(message)
    else console.error(message, meta)
  },
}

/**
 * The `logger` option: console-style `(message, meta)`, or pino / bunyan style `(meta, message)`
 * (recognised by pino's `bindings()` or bunyan's `streams`); `false` for silence; by default,
 * stderr.
 */
export function loggerOption(logger: unknown): Logger | undefined {
  if (logger === false) return undefined
  if (logger === undefined) return STDERR_LOGGER
  if (
    !isObject(logger) ||
    typeof logger.warn !== 'function' ||
    typeof logger.error !== 'function'
  ) {
    fail(
      'logger',
      'must have warn and error methods (console, pino and bunyan loggers work), or be false',
    )
  }
  if (typeof logger.bindings !== 'function' && !Array.isArray(logger.streams)) {
    return logger as unknown as Logger
  }
  const structured = logger as unknown as Record<
    'warn' | 'error' | 'debug',
    ((meta: object, message: string) => void) | undefined
  >
  const debug = structured.debug
  return {
    warn: (message, meta) => {
      structured.warn?.(meta ?? {}, message)
    },
    error: (message, meta) => {
      structured.error?.(meta ?? {}, message)
    },
    ...(typeof debug === 'function'
      ? {
          debug: (message: string, meta?: Record<string, unknown>) => {
            debug.call(logger, meta ?? {}, message)
          },
        }
      : {}),
  }
}

/**
 * Whether a `debug` value turns decisions on: `true`, or a `DEBUG`-style list (comma or space
 * separated, `*` wildcards, `-name` to exclude) that names `tokenward`. The library never reads
 * the environment; the application passes its `DEBUG` variable if it wants that switch.
 */
export function debugEnabled(debug: unknown): boolean {
  if (debug === undefined || debug === false) return false
  if (debug === true) return true
  if (typeof debug !== 'string') {
    fail(
      'debug',
      "must be a boolean or a DEBUG-style list such as 'tokenward' (the DEBUG variable)",
    )
  }
  let enabled = false
  for (const name of debug.split(/[\s,]+/)) {
    if (name === '') continue
    const excluded = name.startsWith('-')
    const pattern = excluded ? name.slice(1) : name
    const matches = new RegExp(
      `^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*?')}$`,
    )
    if (!matches.test('tokenward') && !matches.test('tokenward:decisions')) continue
    // An exclusion wins over any inclusion, as in the `debug` package.
    if (excluded) return false
    enabled = true
  }
  return enabled
}

/**
 * The `onEvent` hook with the debug lines added: one line per decision (status, code, source,
 * whether cached, milliseconds), written to the logger's `debug` method, or to stderr. Never the
 * token, nor the subject.
 */
export function withDebugLines(
  onEvent: ((event: TokenwardEvent) => void) | undefined,
  logger: Logger | undefined,
): (event: TokenwardEvent) => void {
  const write =
    logger?.debug === undefined
      ? (line: string) => {
          console.error(line)
        }
      : (line: string) => {
          logger.debug?.(line)
        }
  return (event) => {
    if (event.type === 'authenticated') {
      const cached = event.cached ? ' cached' : ''
      write(`tokenward: 200 ok ${event.source}${cached} (${event.durationMs.toFixed(2)} ms)`)
    } else if (event.type === 'rejected') {
      const status = ERROR_CODES[event.code].status
      const ms = event.durationMs === undefined ? '' : ` (${event.durationMs.toFixed(2)} ms)`
      write(`tokenward: ${status} ${event.code}${ms}`)
    }
    onEvent?.(event)
  }
}
