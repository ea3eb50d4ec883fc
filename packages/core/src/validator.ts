/**
 * The validator: the public face of the pipeline. It answers from the verdict caches when it
 * can, runs the pipeline when it must, and is the one place a rejection leaves the core (where
 * it gets this validator's realm and is counted).
 */
import { bearerCredential } from './bearer.js'
import { TokenwardError, isTokenwardError } from './errors.js'
import { Introspector } from './introspection.js'
import { Issuers } from './issuers.js'
import { checkOptions, type Config } from './options.js'
import {
  Work,
  inspectPipeline,
  runPipeline,
  type CheckName,
  type Parts,
  type StepReport,
} from './pipeline.js'
import { checkRequirements } from './roles.js'
import { TokenClassifier } from './token.js'
import type { AuthResult, Claims, Requirements, ValidatorOptions } from './types.js'
import type { UpstreamContext } from './upstream.js'
import { FORGED, IntrospectionResults, Verdicts, type Known } from './verdicts.js'

/** A configured validator. Create one per API with {@link createValidator} and share it. */
export interface Validator {
  /** Validates a token and, when given, the route's requirements. Rejects with a {@link TokenwardError}. */
  validate(token: string, requirements?: Requirements): Promise<AuthResult>
  /** Parses an `Authorization` header (every value the request carried), then validates. */
  authenticate(
    authorization: string | readonly string[] | undefined,
    requirements?: Requirements,
  ): Promise<AuthResult>
  /**
   * {@link Validator.authenticate} without a promise when none is needed, for framework adapters:
   * returns the result itself when nothing has to be fetched (a cached token, a known key), a
   * promise when keys or an introspection answer must be fetched first. Throws, or rejects with,
   * a {@link TokenwardError}.
   */
  authenticateNow(
    authorization: string | readonly string[] | undefined,
    requirements?: Requirements,
  ): AuthResult | Promise<AuthResult>
  /**
   * Checks requirements on an already validated token; throws `insufficient_scope` /
   * `insufficient_role`, or `missing_token` when there is none (a guard after optional auth).
   */
  authorize(auth: AuthResult | undefined | null, requirements: Requirements): void
  /** Fetches discovery and keys ahead of traffic; rejects with `upstream_unavailable`. */
  warmUp(): Promise<void>
  /** Forgets what is cached about a token (verified JWT, introspection answer). */
  invalidate(token: string): Promise<void>
  /** Empties the caches. A shared introspection store belongs to its creator: not closed. */
  close(): Promise<void>
  /**
   * Runs every check and reports each (for tools such as `tokenward inspect`): the same checks,
   * in the same order, as `validate`, which stops at the first failure.
   */
  inspect(token: string, requirements?: Requirements): Promise<Inspection>
  /**
   * Reports an error that is not a {@link TokenwardError} (a bug, a throwing callback) through
   * the validator's logger: what adapters do before they answer it with a bare 500.
   */
  reportUnexpected?(error: unknown): void
  /** The `WWW-Authenticate` realm. */
  readonly realm: string
}

/** One check of {@link Validator.inspect}. */
export type InspectionStep = StepReport

/** The report of {@link Validator.inspect}. `header` and `claims` are decoded, not verified. */
export interface Inspection {
  readonly valid: boolean
  readonly steps: readonly InspectionStep[]
  readonly header?: Readonly<Record<string, unknown>>
  readonly claims?: Claims
  readonly result?: AuthResult
}

export type { CheckName }

/**
 * Creates a validator. Every option is checked now: a bad one throws a `ConfigurationError`
 * naming the option. Nothing is fetched until the first token (or {@link Validator.warmUp}).
 */
export function createValidator(options: ValidatorOptions): Validator {
  return new TokenValidator(checkOptions(options))
}

const TOKEN_CACHE_HIT = Object.freeze({ type: 'cache_hit', cache: 'token' } as const)
const TOKEN_CACHE_MISS = Object.freeze({ type: 'cache_miss', cache: 'token' } as const)

class TokenValidator implements Validator {
  readonly realm: string
  readonly #config: Config
  readonly #parts: Parts
  /** JWT verdicts are remembered: a token cache, and introspection not `'always'`. */
  readonly #remembers: boolean

  constructor(config: Config) {
    this.#config = config
    this.realm = config.realm
    const context: UpstreamContext = {
      fetch: config.fetch,
      logger: config.logger,
      onEvent: config.onEvent,
      backoff: config.backoff,
    }
    const introspection = config.introspection
    this.#parts = {
      config,
      issuers: new Issuers(config, context),
      classifier: new TokenClassifier(),
      verdicts: new Verdicts(config.tokenCache, config.time),
      introspector:
        introspection === undefined ? undefined : new Introspector(introspection, context),
      introspectionResults: new IntrospectionResults(config.time),
    }
    this.#remembers = this.#parts.verdicts.enabled && introspection?.mode !== 'always'
  }

  validate(token: string, requirements?: Requirements): Promise<AuthResult> {
    return promised(() => this.#validateNow(token, requirements))
  }

  authenticate(
    authorization: string | readonly string[] | undefined,
    requirements?: Requirements,
  ): Promise<AuthResult> {
    return promised(() => this.authenticateNow(authorization, requirements))
  }

  authenticateNow(
    authorization: string | readonly string[] | undefined,
    requirements?: Requirements,
  ): AuthResult | Promise<AuthResult> {
    // The usual header, exactly `Bearer <token>`: a token seen before is found before any parsing.
    const header =
      typeof authorization === 'string'
        ? authorization
        : authorization?.length === 1
          ? authorization[0]
          : undefined
    const quick =
      typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : undefined
    let token: string
    try {
      if (quick !== undefined) {
        const known = this.#parts.verdicts.known(quick, Date.now() / 1000)
        if (known !== undefined) return this.#fromCache(known, requirements)
      }
      token = bearerCredential(authorization, this.#config.maxTokenLength)
    } catch (error) {
      throw this.#rejected(error)
    }
    // The token is the quick one unless the parsing trimmed spaces: then look it up again.
    return this.#validateNow(token, requirements, true, token.length === quick?.length)
  }

  /**
   * Validation, synchronous whenever nothing is fetched. `fromHeader`: the token still needs its
   * RFC 6750 syntax check; `lookedUp`: the verdict caches were asked already.
   */
  #validateNow(
    token: string,
    requirements: Requirements | undefined,
    fromHeader = false,
    lookedUp = false,
  ): AuthResult | Promise<AuthResult> {
    const now = Date.now() / 1000
    const remember = this.#remembers && typeof token === 'string' && token.includes('.')
    if (remember && !lookedUp) {
      try {
        const known = this.#parts.verdicts.known(token, now)
        if (known !== undefined) return this.#fromCache(known, requirements)
      } catch (error) {
        throw this.#rejected(error)
      }
    }
    if (remember) this.#config.onEvent?.(TOKEN_CACHE_MISS)
    const work = new Work(token, requirements, fromHeader, now, remember)
    return runPipeline(work, this.#parts, this.#failed)
  }

  /** A cached verdict: the result with its requirements checked, or a remembered forgery. */
  #fromCache(known: NonNullable<Known>, requirements: Requirements | undefined): AuthResult {
    this.#config.onEvent?.(TOKEN_CACHE_HIT)
    if (known === FORGED) throw new TokenwardError('invalid_signature')
    if (requirements !== undefined) checkRequirements(known, requirements)
    return known
  }

  /** A pipeline failure: a forged signature is remembered; the error leaves as a rejection. */
  readonly #failed = (work: Work, error: unknown): unknown => {
    if (work.remember && work.step === 'signature' && isTokenwardError(error)) {
      if (error.code === 'invalid_signature') {
        this.#parts.verdicts.rememberForged(work.token, work.claims, work.now)
      }
    }
    return this.#rejected(error)
  }

  /** Every rejection leaves through here: it gets this validator's realm and is counted. */
  #rejected(error: unknown): unknown {
    if (!isTokenwardError(error)) return error
    error.realm = this.realm
    this.#config.onEvent?.({ type: 'rejected', code: error.code })
    return error
  }

  authorize(auth: AuthResult | undefined | null, requirements: Requirements): void {
    try {
      if (auth === undefined || auth === null) throw new TokenwardError('missing_token')
      checkRequirements(auth, requirements)
    } catch (error) {
      throw this.#rejected(error)
    }
  }

  async warmUp(): Promise<void> {
    try {
      await Promise.all([...this.#parts.issuers.all()].map((issuer) => issuer.warmUp()))
    } catch (error) {
      throw this.#rejected(error)
    }
  }

  async invalidate(token: string): Promise<void> {
    if (typeof token !== 'string') return
    this.#parts.verdicts.invalidate(token)
    const endpoints = this.#parts.issuers.knownIntrospectionEndpoints()
    await this.#parts.introspector?.invalidate(token, endpoints)
  }

  close(): Promise<void> {
    this.#parts.verdicts.clear()
    this.#parts.classifier.clear()
    this.#parts.introspector?.close()
    return Promise.resolve()
  }

  async inspect(token: string, requirements?: Requirements): Promise<Inspection> {
    const work = new Work(token, requirements, false, Date.now() / 1000, false)
    const steps = await inspectPipeline(work, this.#parts)
    for (const step of steps) if (step.error !== undefined) step.error.realm = this.realm
    const valid = steps.every((step) => step.ok)
    if (steps[0]?.ok !== true) return { valid, steps }
    // The token's result stands once every check but the route's requirements has passed.
    const settled = steps.every((step) => step.ok || step.check === 'requirements')
    const result = settled ? work.result : undefined
    if (work.classified.kind === 'opaque') {
      // Nothing to decode: the claims are the issuer's answer, when there is one.
      return result === undefined
        ? { valid, steps }
        : { valid, steps, claims: result.claims, result }
    }
    const decoded = { valid, steps, header: work.header, claims: work.claims }
    return result === undefined ? decoded : { ...decoded, result }
  }

  reportUnexpected(error: unknown): void {
    this.#config.logger?.error('tokenward: unexpected error while authenticating a request', {
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    })
  }
}

/** A synchronous-or-promise answer as a promise: what it returns, or what it throws, rejected. */
function promised<T>(answer: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(answer())
  } catch (error) {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passed on as thrown
    return Promise.reject(error)
  }
}
