/**
 * The offline checks of a JWT, in the order they run. `validate` stops at the first failure;
 * `inspect` runs each one and reports it. Both walk this one list, so the CLI explains exactly
 * what the middleware decides.
 */
import { checkAudience } from './audience.js'
import {
  checkAlgorithm,
  checkCritical,
  checkIssuer,
  checkTimes,
  checkTokenKind,
  checkType,
} from './claims.js'
import type { Config } from './options.js'
import type { Claims } from './types.js'

/** What a check sees. */
export interface CheckContext {
  readonly header: Record<string, unknown>
  readonly claims: Claims
  readonly config: Config
  /** Unix seconds. */
  readonly now: number
}

/** Names of the checks, as reported by `inspect`. */
export type CheckName =
  | 'algorithm'
  | 'critical'
  | 'type'
  | 'lifetime'
  | 'issuer'
  | 'kind'
  | 'audience'
  | 'format'
  | 'signature'
  | 'introspection'
  | 'requirements'

export interface Check {
  readonly name: CheckName
  /** Throws a `TokenwardError` when the token fails. */
  readonly run: (context: CheckContext) => void
}

export const JWT_CHECKS: readonly Check[] = [
  {
    name: 'algorithm',
    run: ({ header, config }) => {
      checkAlgorithm(header, config.header)
    },
  },
  {
    name: 'critical',
    run: ({ header }) => {
      checkCritical(header)
    },
  },
  {
    name: 'type',
    run: ({ header, config }) => {
      checkType(header, config.header)
    },
  },
  {
    name: 'lifetime',
    run: ({ claims, config, now }) => {
      checkTimes(claims, config.time, now, true)
    },
  },
  {
    name: 'issuer',
    run: ({ claims, config }) => {
      checkIssuer(claims, config.issuerSet)
    },
  },
  {
    name: 'kind',
    run: ({ claims, config }) => {
      checkTokenKind(claims, config.zitadelProfile)
    },
  },
  {
    name: 'audience',
    run: ({ claims, config }) => {
      checkAudience(claims, config.audience)
    },
  },
]
