/**
 * @tokenward/cli: `tokenward inspect` explains why a bearer token passes or fails.
 *
 * @packageDocumentation
 */
export { USAGE, main, type CommandIo } from './inspect.js'
export { hintFor, type HintContext } from './hints.js'
