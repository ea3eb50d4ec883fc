/**
 * The command line, read strictly: every mistake becomes one {@link UsageError} line that says
 * what was wrong and, for a typo, which option was meant. Node's `parseArgs` does the splitting;
 * its own errors (several sentences about positionals and `--`) never reach the user.
 */
import { parseArgs } from 'node:util'

/** A mistake on the command line: printed as one line, exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** One option of a command, as `parseArgs` takes it. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean'
  readonly multiple?: boolean
  readonly short?: string
}

/** The options of each command, by long name. */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>

/** What {@link readCommandLine} found. */
export interface CommandLine {
  /** The first positional argument, if any. */
  readonly command: string | undefined
  /** The positional arguments after the command. */
  readonly operands: readonly string[]
  /** The options given, by long name: a string, a string array (`multiple`) or `true`. */
  readonly values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>
}

/**
 * Splits `argv` into command, operands and options. `specs` maps each command to its options;
 * `global` options (`--help`, `--version`) are valid with every command and without one.
 * Throws a {@link UsageError} for an unknown command or option (with the nearest valid name),
 * a string option without its value, or a value given to a boolean option.
 */
export function readCommandLine(
  argv: readonly string[],
  specs: Readonly<Record<string, OptionSpecs>>,
  global: OptionSpecs,
): CommandLine {
  // Every option of every command, so that a value is taken as a value whatever the command.
  const all: Record<string, OptionSpec> = { ...global }
  for (const options of Object.values(specs)) Object.assign(all, options)
  const { tokens } = parseArgs({
    args: [...argv],
    options: all,
    strict: false,
    allowPositionals: true,
    tokens: true,
  })
  const positionals = tokens.flatMap((token) => (token.kind === 'positional' ? [token.value] : []))
  const command = positionals[0]
  const commandSpec = command === undefined ? undefined : specs[command]
  if (command !== undefined && commandSpec === undefined) {
    throw new UsageError(unknownCommand(command, Object.keys(specs)))
  }
  const valid: OptionSpecs = { ...global, ...commandSpec }

  for (const token of tokens) {
    if (token.kind !== 'option') continue
    const spec = valid[token.name]
    if (spec === undefined) {
      // A group of short options (`-issuer` is -i -s -s -u -e -r) is named whole.
      const raw = token.rawName.startsWith('--') ? token.rawName : (argv[token.index] ?? '')
      throw new UsageError(unknownOption(raw.split('=')[0] ?? raw, command, valid, specs))
    }
    const name = `--${token.name}`
    if (spec.type === 'boolean' && token.inlineValue === true) {
      throw new UsageError(`${name} takes no value`)
    }
    if (
      spec.type === 'string' &&
      (token.value === undefined ||
        (!token.inlineValue && token.value.startsWith('-') && token.value !== '-'))
    ) {
      throw new UsageError(`${name} needs a value (write ${name}=VALUE for one that starts with -)`)
    }
  }
  const { values } = parseArgs({
    args: [...argv],
    options: valid,
    strict: true,
    allowPositionals: true,
  })
  return { command, operands: positionals.slice(1), values }
}

function unknownCommand(command: string, commands: readonly string[]): string {
  const near = nearest(command, commands)
  return near === undefined
    ? `unknown command ${command}; the commands are ${commands.join(', ')}`
    : `unknown command ${command}; did you mean ${near}?`
}

function unknownOption(
  raw: string,
  command: string | undefined,
  valid: OptionSpecs,
  specs: Readonly<Record<string, OptionSpecs>>,
): string {
  const name = raw.replace(/^--?/, '')
  const owner = raw.startsWith('--')
    ? Object.keys(specs).find((other) => specs[other]?.[name] !== undefined)
    : undefined
  if (owner !== undefined) {
    return command === undefined
      ? `${raw} is an option of tokenward ${owner}`
      : `${raw} is an option of tokenward ${owner}, not of ${command}`
  }
  const near = nearest(name, Object.keys(valid))
  return near === undefined
    ? `unknown option ${raw}; tokenward --help lists the options`
    : `unknown option ${raw}; did you mean --${near}?`
}

/**
 * The candidate `typed` was meant to be: the only one it is the start of (three characters at
 * least), else the closest within an edit distance of a third of its length (at least one; a
 * swap of two neighbours counts as one edit).
 */
export function nearest(typed: string, candidates: readonly string[]): string | undefined {
  const extensions = candidates.filter(
    (candidate) => typed.length >= 3 && candidate.startsWith(typed),
  )
  if (extensions.length === 1) return extensions[0]
  const limit = Math.max(1, Math.floor(typed.length / 3))
  let best: string | undefined
  let bestDistance = limit + 1
  for (const candidate of candidates) {
    const distance = editDistance(typed, candidate)
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1
  const columns = b.length + 1
  const d: number[] = new Array<number>(rows * columns).fill(0)
  const at = (i: number, j: number): number => d[i * columns + j] ?? 0
  for (let i = 0; i < rows; i++) d[i * columns] = i
  for (let j = 0; j < columns; j++) d[j] = j
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < columns; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let value = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, at(i - 2, j - 2) + 1)
      }
      d[i * columns + j] = value
    }
  }
  return at(a.length, b.length)
}

/** The values of a repeatable string option, or undefined when it was not given. */
export function strings(line: CommandLine, name: string): string[] | undefined {
  const value = line.values[name]
  if (value === undefined) return undefined
  return (Array.isArray(value) ? value : [value]).filter(
    (item): item is string => typeof item === 'string',
  )
}

/** The value of a string option, or undefined when it was not given. */
export function text(line: CommandLine, name: string): string | undefined {
  const value = line.values[name]
  return typeof value === 'string' ? value : undefined
}

/** Whether a boolean option was given. */
export function flag(line: CommandLine, name: string): boolean {
  return line.values[name] === true
}
