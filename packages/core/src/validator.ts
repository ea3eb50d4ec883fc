/**
 * The validator: the public face of the pipeline. It answers from the verdict caches when it
 * can, runs the pipeline when it must, and is the one place a rejection leaves the core (where
 * it gets this validator's realm and is counted).
 */
import { credentialOf, type Credential } from './bearer.js'
import { answerFromCache } from './cached-answer.js'
import { TokenwardError, isTokenwardError } from './errors.js'
import { inspectToken } from './inspect.js'
import { checkOptions, type Config } from './options.js'
import { NOT_TIMED, Outcomes } from './outcomes.js'
import { runPipeline } from './pipeline.js'
import { BARE, checkRoute, type RequestSource } from './presentation.js'
import { requestContextOf, type HttpRequestParts } from './request-context.js'
import { promised } from './settle.js'
import type { AuthResult, RequestContext, Requirements, ValidatorOptions } from './types.js'
import type { Inspection, ProtectedResource, Validator } from './validator-types.js'
import type { Known } from './verdicts.js'
import { Work, createParts, type Parts } from './work.js'

export type { Inspection, InspectionStep, Validator } from './validator-types.js'

/**
 * Creates a validator. Every option is checked now: a bad one throws a `ConfigurationError`
 * naming the option. Nothing is fetched until the first token (or {@link Validator.warmUp}).
 */
export function createValidator(options: ValidatorOptions): Validator {
  return new TokenValidator(checkOptions(options))
}

class TokenValidator implements Validator {
  readonly realm: string
  readonly #config: Config
  readonly #parts: Parts
  /** Verdicts are remembered: a token cache, and introspection not `'always'`. */
  readonly #remembers: boolean
  readonly #outcomes: Outcomes
  /** The `DPoP` scheme is read (RFC 9449 §7.1); with DPoP disabled it counts as no token. */
  readonly #acceptsDpop: boolean

  constructor(config: Config) {
    this.#config = config
    this.realm = config.realm
    this.#parts = createParts(config)
    this.#remembers = this.#parts.verdicts.enabled && config.introspection?.mode !== 'always'
    this.#outcomes = new Outcomes(config)
    this.#acceptsDpop = config.dpop.mode !== 'disabled'
  }

  validate(token: string, requirements?: Requirements): Promise<AuthResult> {
    return promised(() => this.#validateNow(token, requirements))
  }

  authenticate(
    authorization: string | readonly string[] | undefined,
    requirements?: Requirements,
    request?: RequestSource,
  ): Promise<AuthResult> {
    return promised(() => this.authenticateNow(authorization, requirements, request))
  }

  authenticateNow(
    authorization: string | readonly string[] | undefined,
    requirements?: Requirements,
    request?: RequestSource,
  ): AuthResult | Promise<AuthResult> {
    const answer = this.decide(authorization, requirements, request)
    if (answer instanceof TokenwardError) throw answer
    return answer
  }

  decide(
    authorization: string | readonly string[] | undefined,
    requirements?: Requirements,
    request?: RequestSource,
  ): AuthResult | Promise<AuthResult> | TokenwardError {
    const started = this.#outcomes.start()
    // The usual header, exactly `Bearer <token>`: a token seen before is found before any parsing.
    const header =
      typeof authorization === 'string'
        ? authorization
        : authorization?.length === 1
          ? authorization[0]
          : undefined
    const quick =
      typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : undefined
    let credential: Credential
    try {
      if (quick !== undefined) {
        const known = this.#parts.verdicts.known(quick, this.#config.clock() / 1000)
        if (known !== undefined) {
          const answer = this.#fromCache(known, requirements, started, request)
          if (!(answer instanceof TokenwardError)) return answer
          return this.#outcomes.rejected(answer, started) as TokenwardError
        }
      }
      credential = credentialOf(authorization, this.#config.maxTokenLength, this.#acceptsDpop)
    } catch (error) {
      const rejected = this.#outcomes.rejected(error, started)
      if (rejected instanceof TokenwardError) return rejected
      throw rejected
    }
    const { scheme, token } = credential
    const presented = scheme === 'Bearer' && request === undefined ? BARE : { scheme, request }
    // The token is the quick one unless the parsing trimmed spaces: then look it up again.
    const lookedUp = scheme === 'Bearer' && token.length === quick?.length
    return this.#validateNow(token, requirements, true, lookedUp, started, presented)
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
    started = this.#outcomes.start(),
    presented = BARE,
  ): AuthResult | Promise<AuthResult> {
    const now = this.#config.clock() / 1000
    const remember = this.#remembers && typeof token === 'string'
    if (remember && !lookedUp) {
      try {
        const known = this.#parts.verdicts.known(token, now)
        if (known !== undefined) {
          const answer = this.#fromCache(
            known,
            requirements,
            started,
            presented.request,
            presented.scheme,
          )
          if (answer instanceof TokenwardError) throw answer // stamped by the catch below
          return answer
        }
      } catch (error) {
        throw this.#outcomes.rejected(error, started, presented.scheme)
      }
    }
    if (remember) this.#outcomes.tokenCache(false)
    const work = new Work(token, requirements, fromHeader, now, remember, presented)
    work.started = started
    const answer = runPipeline(work, this.#parts, this.#failed)
    if (started === NOT_TIMED) return answer
    // Only with an onEvent hook: the answer is reported with how long it took.
    return answer instanceof Promise
      ? answer.then((result) => this.#outcomes.accepted(result, work.cached, started))
      : this.#outcomes.accepted(answer, work.cached, started)
  }

  readonly #fromCache = (
    known: NonNullable<Known>,
    requirements: Requirements | undefined,
    started: number,
    request: RequestSource,
    scheme: 'Bearer' | 'DPoP' = 'Bearer',
  ): AuthResult | Promise<AuthResult> | TokenwardError =>
    answerFromCache(known, requirements, started, request, scheme, this.#config, this.#outcomes)

  /** A pipeline failure: a forged signature is remembered; the error leaves as a rejection. */
  readonly #failed = (work: Work, error: unknown): unknown => {
    if (work.remember && work.step === 'signature' && isTokenwardError(error)) {
      if (error.code === 'invalid_signature') {
        this.#parts.verdicts.rememberForged(work.token, work.claims, work.now)
      }
    }
    return this.#outcomes.rejected(error, work.started, work.presented.scheme)
  }

  authorize(auth: AuthResult | undefined | null, requirements: Requirements): void {
    if (requirements.roles !== undefined) this.#outcomes.roleGuard()
    try {
      if (auth === undefined || auth === null) throw new TokenwardError('missing_token')
      checkRoute(auth, requirements, this.#config, this.#config.clock() / 1000)
    } catch (error) {
      // A token with cnf.jkt was accepted only with the DPoP scheme (binding.ts): its route
      // failures go on the DPoP challenge (RFC 9449 §7.1).
      const jkt = (auth?.claims.cnf as { jkt?: unknown } | undefined)?.jkt
      if (typeof jkt !== 'string') throw this.#outcomes.rejected(error)
      if (isTokenwardError(error)) error.scheme = 'DPoP'
      throw this.#outcomes.rejected(error, NOT_TIMED, 'DPoP')
    }
  }

  async warmUp(): Promise<void> {
    try {
      await Promise.all([...this.#parts.issuers.all()].map((issuer) => issuer.warmUp()))
    } catch (error) {
      throw this.#outcomes.rejected(error)
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

  inspect(
    token: string,
    requirements?: Requirements,
    request?: RequestContext,
  ): Promise<Inspection> {
    return inspectToken(this.#parts, token, requirements, request)
  }

  requestContext(parts: HttpRequestParts): RequestContext {
    return requestContextOf(parts, this.#config.http)
  }

  protectedResource(): ProtectedResource | undefined {
    const resource = this.#config.resource
    return resource === undefined
      ? undefined
      : { path: resource.metadataPath, document: resource.document }
  }

  reportUnexpected(error: unknown): void {
    this.#outcomes.unexpected(error)
  }
}
