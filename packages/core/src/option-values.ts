/**
 * The shared vocabulary of option checking: each check throws a `ConfigurationError` that names
 * the option path and says how to fix it. Each policy module parses its own option with these.
 */
import { ConfigurationError } from './errors.js'

/** Throws the `ConfigurationError` for `option`. */
export function fail(option: string, problem: string): never {
  throw new ConfigurationError(option, problem)
}

/** A plain object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The option names of an options type, written once as a record so that the compiler checks the
 * list against the type: a name missing from it, or one the type lacks, does not compile.
 */
export function optionNames<T>(names: Readonly<Record<keyof T, true>>): readonly string[] {
  return Object.keys(names)
}

/** Refuses a member that is not one of `known` (a typo would otherwise be ignored silently). */
export function refuseUnknownOptions(
  option: string,
  known: readonly string[],
  value: Record<string, unknown>,
): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key))
      fail(`${option}.${key}`, `is not an option; known: ${known.join(', ')}`)
  }
}

/** A non-empty array of non-empty strings. */
export function nonEmptyStrings(value: unknown, option: string, fix: string): readonly string[] {
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((v) => typeof v === 'string' && v !== '')
  ) {
    fail(option, `must be a non-empty array of non-empty strings; ${fix}`)
  }
  return value as string[]
}

/** An absolute https URL (plain http only on loopback, for test issuers). */
export function httpsUrl(value: unknown, option: string, example: string): string {
  if (typeof value !== 'string') fail(option, `must be a URL string, e.g. "${example}"`)
  let parsed: URL
  try {
    parsed = new URL(value)
  } catch {
    fail(option, `must be an absolute URL, e.g. "${example}"; got "${value}"`)
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname)
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopback)) {
    fail(
      option,
      `must use https (plain http is allowed only for loopback test issuers); got "${value}"`,
    )
  }
  return value
}

/** A finite number in `range`, or `fallback` when the option is left out. */
export function numberInRange(
  value: unknown,
  option: string,
  fallback: number,
  range: { min: number; max?: number; integer?: boolean },
): number {
  if (value === undefined) return fallback
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    value >= range.min &&
    (range.max === undefined || value <= range.max) &&
    (range.integer !== true || Number.isInteger(value))
  if (!ok) {
    const bounds =
      range.max === undefined ? `>= ${range.min}` : `between ${range.min} and ${range.max}`
    // JSON.stringify answers undefined for a function, whatever its type says.
    const found = (JSON.stringify(value) as string | undefined) ?? typeof value
    fail(
      option,
      `must be ${range.integer === true ? 'an integer' : 'a number'} ${bounds}; got ${found}`,
    )
  }
  return value
}
