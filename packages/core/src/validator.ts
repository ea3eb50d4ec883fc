/**
 * The validator: the public face of the pipeline. It answers from the verdict caches when it
 * can, runs the pipeline when it must, and is the one place a rejection leaves the core (where
 * it gets this validator's realm and is counted).
 */
import { credentialOf, type Credential } from './bearer.js'
import { TokenwardError, isTokenwardError } from './errors.js'
import { Introspector } from './introspection.js'
import { Issuers } from './issuers.js'
import { checkOptions, type Config } from './options.js'
import { inspectPipeline } from './inspect.js'
import { NOT_TIMED, Outcomes } from './outcomes.js'
import { Work, runPipeline, type Parts } from './pipeline.js'
import {
  BARE,
  checkPresented,
  checkRoute,
  type Presented,
  type RequestSource,
} from './presentation.js'
import { TokenClassifier } from './token.js'
import type { AuthResult, RequestContext, Requirements, ValidatorOptions } from './types.js'
import type { ProtectedResource, Inspection, Validator } from './validator-types.js'
import { requestContextOf, type HttpRequestParts } from './request-context.js'
import type { UpstreamContext } from './upstream.js'
import { FORGED, IntrospectionResults, Verdicts, type Known } from './verdicts.js'

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
  /** JWT verdicts are remembered: a token cache, and introspection not `'always'`. */
  readonly #remembers: boolean
  readonly #outcomes: Outcomes
  /** The `DPoP` scheme is read (RFC 9449 §7.1); with DPoP disabled it counts as no token. */
  readonly #acceptsDpop: boolean
  /** Only DPoP-bound tokens are accepted: every cached verdict needs its proof checked. */
  readonly #requiresDpop: boolean

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
      verdicts: new Verdicts(config.tokenCache, config.time, config.clock),
      introspector:
        introspection === undefined
          ? undefined
          : new Introspector(introspection, context, config.clock),
      introspectionResults: new IntrospectionResults(config.time),
    }
    this.#remembers = this.#parts.verdicts.enabled && introspection?.mode !== 'always'
    this.#outcomes = new Outcomes(config)
    this.#acceptsDpop = config.dpop.mode !== 'disabled'
    this.#requiresDpop = config.dpop.mode === 'required'
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
        if (known !== undefined) return this.#fromCache(known, requirements, started, request)
      }
      credential = credentialOf(authorization, this.#config.maxTokenLength, this.#acceptsDpop)
    } catch (error) {
      throw this.#outcomes.rejected(error, started)
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
    const remember = this.#remembers && typeof token === 'string' && token.includes('.')
    if (remember && !lookedUp) {
      try {
        const known = this.#parts.verdicts.known(token, now)
        if (known !== undefined) {
          return this.#fromCache(known, requirements, started, presented.request, presented.scheme)
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

  /**
   * A cached verdict: a remembered forgery, or the result once the request's proof or
   * certificate and the route's requirements are checked (they belong to each request).
   */
  #fromCache(
    known: NonNullable<Known>,
    requirements: Requirements | undefined,
    started: number,
    request: RequestSource,
    scheme: Presented['scheme'] = 'Bearer',
  ): AuthResult | Promise<AuthResult> {
    this.#outcomes.tokenCache(true)
    if (known === FORGED) throw new TokenwardError('invalid_signature')
    // The common case, a plain bearer token: nothing of the request to check.
    if (scheme === 'Bearer' && known.claims.cnf === undefined && !this.#requiresDpop) {
      return this.#answerCached(known, requirements, started)
    }
    const presented: Presented = { scheme, request }
    const checked = checkPresented(known, presented, this.#config, this.#config.clock() / 1000)
    if (checked === undefined) return this.#answerCached(known, requirements, started)
    return checked
      .then(() => this.#answerCached(known, requirements, started))
      .catch((error: unknown) => {
        throw this.#outcomes.rejected(error, started, scheme)
      })
  }

  /** A cached result, once the route's requirements hold. */
  #answerCached(
    known: AuthResult,
    requirements: Requirements | undefined,
    started: number,
  ): AuthResult {
    if (requirements !== undefined) {
      checkRoute(known, requirements, this.#config, this.#config.clock() / 1000)
    }
    return started === NOT_TIMED ? known : this.#outcomes.accepted(known, true, started)
  }

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

  async inspect(
    token: string,
    requirements?: Requirements,
    request?: RequestContext,
  ): Promise<Inspection> {
    // With a DPoP proof, the token is inspected as sent with the DPoP scheme.
    const scheme: Presented['scheme'] = request?.headers.dpop === undefined ? 'Bearer' : 'DPoP'
    const presented = request === undefined ? BARE : { scheme, request }
    const now = this.#config.clock() / 1000
    const work = new Work(token, requirements, false, now, false, presented)
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

/** A synchronous-or-promise answer as a promise: what it returns, or what it throws, rejected. */
function promised<T>(answer: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(answer())
  } catch (error) {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passed on as thrown
    return Promise.reject(error)
  }
}
