/**
 * What the pipeline works on: one validator's parts (built once, with the validator) and one
 * token's {@link Work}, its input and what each step found.
 */
import { Introspector } from './introspection.js'
import { Issuers } from './issuers.js'
import type { KeySource, VerificationKey } from './keys.js'
import type { Config } from './options.js'
import { BARE, type Presented } from './presentation.js'
import { TokenClassifier, type Classified } from './token.js'
import type { AuthResult, Claims, Requirements } from './types.js'
import { IntrospectionResults, Verdicts } from './verdicts.js'

/** Names of the steps, as reported by `inspect`. */
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
  | 'binding'
  | 'requirements'

/** A step's name: a reported check, or the building of the result (which checks nothing). */
export type StepName = CheckName | 'result'

/** What the steps work with: one validator's parts. */
export interface Parts {
  readonly config: Config
  readonly issuers: Issuers
  readonly classifier: TokenClassifier
  readonly verdicts: Verdicts
  readonly introspector: Introspector | undefined
  readonly introspectionResults: IntrospectionResults
}

const OPAQUE: Classified = { kind: 'opaque' }
const NO_HEADER: Readonly<Record<string, unknown>> = Object.freeze({})

/** One token's way through the pipeline: its input, and what each step found. */
export class Work {
  /** The step running, or the one that failed. */
  step: StepName = 'format'
  classified: Classified = OPAQUE
  header: Readonly<Record<string, unknown>> = NO_HEADER
  claims: Claims = NO_HEADER
  keys: KeySource | undefined
  key: VerificationKey | undefined
  /** The issuer introspected at, and its endpoint. */
  introspectedAt = ''
  endpoint = ''
  answer: Claims = NO_HEADER
  /** Ms since the epoch until which the introspection answer is cached. */
  answerUntil = 0
  /** The introspection answer came from a cache. */
  cached = false
  result: AuthResult | undefined
  /** `performance.now()` when the validation started (for onEvent), or -1. */
  started = -1

  constructor(
    readonly token: string,
    readonly requirements: Requirements | undefined,
    /** The token came from a header and its RFC 6750 §2.1 syntax is not checked yet. */
    readonly fromHeader: boolean,
    /** Unix seconds, once for the whole token. */
    readonly now: number,
    /** Its verdict is to be remembered (validate, not inspect; a JWT; a token cache). */
    readonly remember: boolean,
    /** The scheme and request the token came with. */
    readonly presented: Presented = BARE,
  ) {}
}

/** A validator's parts: its issuers, classifier, verdict caches and introspector. */
export function createParts(config: Config): Parts {
  const context = {
    fetch: config.fetch,
    send: config.send,
    logger: config.logger,
    onEvent: config.onEvent,
    backoff: config.backoff,
  }
  const introspection = config.introspection
  return {
    config,
    issuers: new Issuers(config, context),
    classifier: new TokenClassifier(),
    verdicts: new Verdicts(config.tokenCache, config.time),
    introspector:
      introspection === undefined
        ? undefined
        : new Introspector(introspection, context, config.clock),
    introspectionResults: new IntrospectionResults(config.time),
  }
}
