/**
 * What every framework adapter needs from the core besides the validator itself, so that no
 * adapter carries a rule of its own.
 */
import type { Requirements, ValidatorOptions } from './types.js'
import { createValidator, type Validator } from './validator.js'

/** Restricts role guards to roles granted in one organisation. */
export interface RoleOptions {
  readonly org?: string
}

/** The validator an adapter was given, or one created from options (which checks them now). */
export function resolveValidator(optionsOrValidator: ValidatorOptions | Validator): Validator {
  return typeof (optionsOrValidator as Partial<Validator>).authenticate === 'function'
    ? (optionsOrValidator as Validator)
    : createValidator(optionsOrValidator as ValidatorOptions)
}

/**
 * The requirements of a role guard's arguments: every role named, and with a trailing
 * `{ org }` only where granted in that organisation (`requireRoles('a', 'b', { org })`).
 */
export function roleRequirements(args: readonly (string | RoleOptions)[]): Requirements {
  const last = args.at(-1)
  if (typeof last !== 'object') return { roles: args as string[] }
  const roles = args.slice(0, -1) as string[]
  return { roles: last.org === undefined ? roles : { allOf: roles, org: last.org } }
}
