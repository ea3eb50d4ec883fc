/**
 * The validator: classifies a token, runs the offline checks, then fetches what it must (keys,
 * introspection) and builds the {@link AuthResult}. Every decision lives in the modules it
 * calls; this file only puts them in order.
 */
import { LRUCache } from 'lru-cache'
import { audienceList, checkAudience, checkAuthorizedParty, clientOf } from './audience.js'
import { JWT_CHECKS, type CheckContext, type CheckName } from './checks.js'
import { bearerCredential, checkB64token } from './bearer.js'
import { checkIssuer, checkTimes } from './claims.js'
import { Discovery } from './discovery.js'
import { TokenwardError, isTokenwardError } from './errors.js'
import { Introspector } from './introspection.js'
import { RemoteKeys, StaticKeys, type KeySource } from './keys.js'
import { checkOptions, type Config } from './options.js'
import { checkRequirements, readScopes } from './roles.js'
import { verifySignature } from './signature.js'
import { classify, decodeClaims, isJwsShaped, type Classified } from './token.js'
import type { AuthResult, Claims, Requirements, ValidatorOptions } from './types.js'
import type { UpstreamContext } from './upstream.js'

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
  /** The `WWW-Authenticate` realm. */
  readonly realm: string
}

/** One check of {@link Validator.inspect}. */
export interface InspectionStep {
  readonly check: CheckName
  readonly ok: boolean
  /** Why it failed. */
  readonly error?: TokenwardError
}

/** The report of {@link Validator.inspect}. `header` and `claims` are decoded, not verified. */
export interface Inspection {
  readonly valid: boolean
  readonly steps: readonly InspectionStep[]
  readonly header?: Readonly<Record<string, unknown>>
  readonly claims?: Claims
  readonly result?: AuthResult
}

/**
 * Creates a validator. Every option is checked now: a bad one throws a `ConfigurationError`
 * naming the option. Nothing is fetched until the first token (or {@link Validator.warmUp}).
 */
export function createValidator(options: ValidatorOptions): Validator {
  return new TokenValidator(checkOptions(options))
}

/** A verified JWT's result, cached until `exp` and while its key stays in the JWKS. */
interface Verified {
  readonly result: AuthResult
  readonly keys: KeySource
  readonly kid: string | undefined
  /** Seconds (epoch) before which the lifetime checks still hold: exp, maxTokenAgeSeconds. */
  readonly until: number
}

/**
 * The verdicts cached on JWTs.
 *
 * `verified` is keyed by the token's last {@link TAIL} characters, the end of its signature, and
 * an entry counts only when its whole token is equal. V8 hashes a string key over every character
 * (about 1.1 µs for a 650-character token, as long as SHA-256), while a 32-character key costs a
 * tenth of that; any two tokens an issuer signed differ there. The cached result holds the token
 * anyway (`AuthResult.token`), so a SHA-256 key would hide nothing.
 *
 * `forged` remembers forged signatures by the same key, with the forged token itself to compare
 * (it is no secret): a flood of them costs a lookup each, not a verification. It is a cache of
 * its own, so they cannot evict valid tokens, and it holds at most {@link FORGED_BUDGET}
 * characters of them.
 */
interface TokenCache {
  readonly verified: LRUCache<string, Verified>
  readonly forged: LRUCache<string, string>
}

/** Characters of a token's end that key the token caches: 192 bits of signature. */
const TAIL = 32
/** Characters of forged tokens the cache may hold (about 4 MB). */
const FORGED_BUDGET = 4 * 1024 * 1024
/** A remembered forgery: what {@link TokenValidator.#known} returns for one. */
const FORGED = Symbol('forged')
type Known = AuthResult | typeof FORGED | undefined

/** One issuer's discovery, keys and introspection endpoint, each resolved on first use. */
class IssuerState {
  readonly discovery: Discovery
  #keys: KeySource | undefined

  constructor(
    readonly issuer: string,
    private readonly config: Config,
    private readonly context: UpstreamContext,
  ) {
    this.discovery = new Discovery(issuer, context, config.discoveryTimeoutMs)
    if (config.staticKeys !== undefined) this.#keys = new StaticKeys(config.staticKeys)
    else if (config.jwksUri !== undefined) this.#keys = this.#remote(config.jwksUri)
  }

  /** The key source once known (static, configured, or discovered). */
  get resolved(): KeySource | undefined {
    return this.#keys
  }

  async keys(): Promise<KeySource> {
    if (this.#keys !== undefined) return this.#keys
    const metadata = await this.discovery.get()
    if (metadata.jwks_uri === undefined) {
      this.context.logger?.error('tokenward: the issuer metadata has no jwks_uri; set jwksUri', {
        issuer: this.issuer,
      })
      throw new TokenwardError('upstream_unavailable', { retryAfterSeconds: 60 })
    }
    this.#keys ??= this.#remote(metadata.jwks_uri)
    return this.#keys
  }

  #remote(url: string): KeySource {
    return new RemoteKeys(url, this.context, this.config.jwks)
  }
}

class TokenValidator implements Validator {
  readonly realm: string
  readonly #config: Config
  readonly #issuers: Map<string, IssuerState>
  readonly #tokens: TokenCache | undefined
  readonly #introspector: Introspector | undefined

  constructor(config: Config) {
    this.#config = config
    this.realm = config.realm
    const context: UpstreamContext = {
      fetch: config.fetch,
      logger: config.logger,
      onEvent: config.onEvent,
      backoff: config.backoff,
    }
    this.#issuers = new Map(
      config.issuers.map((issuer) => [issuer, new IssuerState(issuer, config, context)]),
    )
    const max = config.tokenCache?.max
    this.#tokens =
      max === undefined
        ? undefined
        : {
            verified: new LRUCache({ max }),
            forged: new LRUCache({
              max,
              maxSize: FORGED_BUDGET,
              sizeCalculation: (forged) => Math.max(forged.length, 1),
            }),
          }
    this.#introspector =
      config.introspection === undefined
        ? undefined
        : new Introspector(
            config.introspection,
            context,
            (issuer) => this.#issuer(issuer).discovery,
          )
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
    let token = ''
    let known: Known
    try {
      known = quick === undefined ? undefined : this.#known(quick)
      if (known === undefined) token = bearerCredential(authorization, this.#config.maxTokenLength)
    } catch (error) {
      throw this.#reject(error)
    }
    if (known !== undefined) return this.#answer(known, requirements)
    // The token is the quick one unless the parsing trimmed spaces: then look it up again.
    return this.#validateNow(token, requirements, true, token.length === quick?.length)
  }

  /**
   * Validation, synchronous whenever nothing is fetched: a cache hit, a remembered forgery or a
   * known key answer at once. `fromHeader`: the token still needs its b64token check (a cached
   * token passed it when first seen); `lookedUp`: the token caches were asked already.
   */
  #validateNow(
    token: string,
    requirements: Requirements | undefined,
    fromHeader = false,
    lookedUp = false,
  ): AuthResult | Promise<AuthResult> {
    let cached: boolean
    let known: Known
    try {
      cached = this.#cacheable(token)
      known = cached && !lookedUp ? this.#known(token) : undefined
    } catch (error) {
      throw this.#reject(error)
    }
    if (known !== undefined) return this.#answer(known, requirements)
    if (cached) this.#config.onEvent?.(TOKEN_CACHE_MISS)
    try {
      const verified = this.#verify(token, cached, fromHeader)
      if (verified instanceof Promise) return this.#settle(verified, requirements)
      if (requirements !== undefined) checkRequirements(verified, requirements)
      return verified
    } catch (error) {
      throw this.#reject(error)
    }
  }

  /** A cached verdict: the result, its requirements checked, or a remembered forgery. */
  #answer(known: AuthResult | typeof FORGED, requirements: Requirements | undefined): AuthResult {
    this.#config.onEvent?.(TOKEN_CACHE_HIT)
    // Thrown once, not from a try: rejections are what a flood of bad tokens costs.
    if (known === FORGED) throw this.#reject(new TokenwardError('invalid_signature'))
    if (requirements !== undefined) {
      try {
        checkRequirements(known, requirements)
      } catch (error) {
        throw this.#reject(error)
      }
    }
    return known
  }

  /** The end of a validation that had to fetch something. */
  async #settle(pending: Promise<AuthResult>, requirements?: Requirements): Promise<AuthResult> {
    try {
      const result = await pending
      if (requirements !== undefined) checkRequirements(result, requirements)
      return result
    } catch (error) {
      throw this.#reject(error)
    }
  }

  authorize(auth: AuthResult | undefined | null, requirements: Requirements): void {
    try {
      if (auth === undefined || auth === null) throw new TokenwardError('missing_token')
      checkRequirements(auth, requirements)
    } catch (error) {
      throw this.#reject(error)
    }
  }

  async warmUp(): Promise<void> {
    try {
      await Promise.all(
        [...this.#issuers.values()].map(async (state) => {
          await (await state.keys()).warmUp()
          if (
            this.#config.introspection !== undefined &&
            this.#config.introspection.endpoint === undefined
          ) {
            await state.discovery.get()
          }
        }),
      )
    } catch (error) {
      throw this.#reject(error)
    }
  }

  async invalidate(token: string): Promise<void> {
    if (typeof token !== 'string') return
    const key = token.slice(-TAIL)
    if (this.#tokens?.verified.get(key)?.result.token === token) this.#tokens.verified.delete(key)
    if (this.#tokens?.forged.get(key) === token) this.#tokens.forged.delete(key)
    await this.#introspector?.invalidate(token)
  }

  async close(): Promise<void> {
    this.#tokens?.verified.clear()
    this.#tokens?.forged.clear()
    await this.#introspector?.close()
  }

  #reject(error: unknown): unknown {
    if (!isTokenwardError(error)) return error
    error.realm = this.realm
    this.#config.onEvent?.({ type: 'rejected', code: error.code })
    return error
  }

  #issuer(issuer: string): IssuerState {
    const state = this.#issuers.get(issuer)
    if (state === undefined) throw new TokenwardError('invalid_issuer')
    return state
  }

  /** Whether the token's verdict is cached: a JWT (it has a dot) unless introspection is 'always'. */
  #cacheable(token: string): boolean {
    this.#checkLength(token)
    // A token with no dot is opaque: the introspection cache's.
    return (
      this.#tokens !== undefined &&
      this.#config.introspection?.mode !== 'always' &&
      token.includes('.')
    )
  }

  /**
   * Everything past the token caches. `cached`: its verdict is to be cached; `fromHeader`: it
   * still needs its b64token check, which a JWS's shape implies.
   */
  #verify(token: string, cached: boolean, fromHeader = false): AuthResult | Promise<AuthResult> {
    const jwsShaped = isJwsShaped(token)
    if (fromHeader && !jwsShaped) checkB64token(token)
    const classified = classify(token, jwsShaped)
    if (classified.kind === 'opaque') {
      if (this.#introspector === undefined) {
        throw new TokenwardError('malformed_token', { detail: 'not a JWT' })
      }
      return this.#introspected(token, this.#config.issuers[0]!)
    }
    const result = this.#verifyJwt(token, classified.header, classified.payload, cached)
    if (this.#config.introspection?.mode !== 'always') return result
    // The signature and claims hold; only the issuer knows whether the token was revoked.
    return Promise.resolve(result).then((verified) => this.#introspected(token, verified.issuer))
  }

  /**
   * A token's cached verdict: its result, if still valid (time has moved on, keys may have left),
   * or {@link FORGED}; undefined when neither cache has that very token.
   */
  #known(token: string): Known {
    const tokens = this.#tokens
    // Only JWTs are cached here, and a JWT has dots (an opaque token is the introspection cache's).
    if (tokens === undefined || !token.includes('.')) return undefined
    const key = token.slice(-TAIL)
    const entry = tokens.verified.get(key)
    if (entry === undefined || entry.result.token !== token) {
      return tokens.forged.get(key) === token ? FORGED : undefined
    }
    const now = Date.now() / 1000
    if (now >= entry.until) {
      try {
        // Past the entry's deadline, the lifetime checks decide again (and name the failure).
        checkTimes(entry.result.claims, this.#config.time, now, true)
      } catch (error) {
        tokens.verified.delete(key)
        throw error
      }
    }
    if (entry.kid !== undefined && !entry.keys.hasKid(entry.kid)) {
      // The key left the JWKS: verify again (and fail unless it comes back).
      tokens.verified.delete(key)
      return undefined
    }
    return entry.result
  }

  /** Synchronous when the answer is cached: a promise only when something is fetched. */
  #introspected(token: string, issuer: string): AuthResult | Promise<AuthResult> {
    const claims = this.#introspector!.introspect(token, issuer)
    return claims instanceof Promise
      ? claims.then((answer) => this.#fromAnswerOf(token, answer))
      : this.#fromAnswerOf(token, claims)
  }

  #fromAnswerOf(token: string, claims: Claims): AuthResult {
    const known = this.#fromAnswer.get(claims)
    if (known === undefined) {
      const result = this.#fromIntrospection(token, claims)
      this.#fromAnswer.set(claims, result)
      return result
    }
    // A cached answer passed every check before; only time has moved.
    checkTimes(claims, this.#config.time, Date.now() / 1000, false)
    return known
  }

  /** The result built from a cached introspection answer, for as long as the answer lives. */
  readonly #fromAnswer = new WeakMap<Claims, AuthResult>()

  #verifyJwt(
    token: string,
    header: Readonly<Record<string, unknown>>,
    payload: string,
    cached: boolean,
  ): AuthResult | Promise<AuthResult> {
    const config = this.#config
    const claims = decodeClaims(payload)
    const now = Date.now() / 1000
    const context: CheckContext = { header, claims, config, now }
    for (const check of JWT_CHECKS) check.run(context)
    // The checks above established these shapes.
    const issuer = claims.iss as string
    const exp = claims.exp as number
    const ttlMs = cached ? Math.min(config.tokenCache!.ttlSeconds, exp - now) * 1000 : 0
    let keys: KeySource | Promise<KeySource>
    try {
      keys = this.#verifySignature(token, header, issuer)
    } catch (error) {
      throw this.#remember(error, token, ttlMs)
    }
    if (keys instanceof Promise) {
      return keys.then(
        (source) => this.#accept(token, header, claims, source, ttlMs),
        (error: unknown) => {
          throw this.#remember(error, token, ttlMs)
        },
      )
    }
    return this.#accept(token, header, claims, keys, ttlMs)
  }

  /** A verified JWT's result, cached for `ttlMs`. */
  #accept(
    token: string,
    header: Readonly<Record<string, unknown>>,
    claims: Claims,
    keys: KeySource,
    ttlMs: number,
  ): AuthResult {
    const issuer = claims.iss as string
    const result = buildResult(token, 'jwt', claims, issuer, audienceList(claims.aud), this.#config)
    if (ttlMs > 0) {
      const kid = typeof header.kid === 'string' ? header.kid : undefined
      const until = lifetimeEnd(claims, this.#config.time)
      this.#tokens!.verified.set(token.slice(-TAIL), { result, keys, kid, until }, { ttl: ttlMs })
    }
    return result
  }

  /** A forged signature is remembered for `ttlMs`; the error is passed on. */
  #remember(error: unknown, token: string, ttlMs: number): unknown {
    if (ttlMs > 0 && isTokenwardError(error) && error.code === 'invalid_signature') {
      this.#tokens!.forged.set(token.slice(-TAIL), token, { ttl: ttlMs })
    }
    return error
  }

  /** R-D1: the signature verifies with the issuer's key for the header's `kid` and `alg`. */
  #verifySignature(
    token: string,
    header: Record<string, unknown>,
    issuer: string,
  ): KeySource | Promise<KeySource> {
    const state = this.#issuer(issuer)
    const keys = state.resolved
    if (keys === undefined)
      return state.keys().then((source) => this.#checkWith(source, token, header))
    return this.#checkWith(keys, token, header)
  }

  /** Synchronous when the key is known and node:crypto verifies: the common case. */
  #checkWith(
    keys: KeySource,
    token: string,
    header: Record<string, unknown>,
  ): KeySource | Promise<KeySource> {
    const alg = header.alg as string
    const key = keys.getKey(header)
    const verified =
      key instanceof Promise
        ? key.then((k) => verifySignature(token, alg, k))
        : verifySignature(token, alg, key)
    return verified === undefined ? keys : verified.then(() => keys)
  }

  async inspect(token: string, requirements?: Requirements): Promise<Inspection> {
    const steps: InspectionStep[] = []
    const run = async (check: CheckName, fn: () => unknown): Promise<boolean> => {
      try {
        await fn()
        steps.push({ check, ok: true })
        return true
      } catch (error) {
        if (!isTokenwardError(error)) throw error
        error.realm = this.realm
        steps.push({ check, ok: false, error })
        return false
      }
    }
    const report = (extra: Omit<Inspection, 'valid' | 'steps'> = {}): Inspection => ({
      valid: steps.every((s) => s.ok),
      steps,
      ...extra,
    })

    // Filled by the format step; typed wide on purpose (the closure assigns them).
    const decoded: { classified: Classified; claims: Record<string, unknown> } = {
      classified: { kind: 'opaque' },
      claims: {},
    }
    const formatOk = await run('format', () => {
      this.#checkLength(token)
      decoded.classified = classify(token)
      if (decoded.classified.kind === 'jwt')
        decoded.claims = decodeClaims(decoded.classified.payload)
      else if (this.#introspector === undefined) {
        throw new TokenwardError('malformed_token', {
          detail: 'not a JWT, and introspection is not configured',
        })
      }
    })
    if (!formatOk) return report()
    const { classified, claims } = decoded
    if (classified.kind === 'opaque') {
      let result: AuthResult | undefined
      await run('introspection', async () => (result = await this.#verify(token, false)))
      if (result !== undefined && requirements !== undefined) {
        const granted = result
        await run('requirements', () => {
          checkRequirements(granted, requirements)
        })
      }
      return report(result === undefined ? {} : { claims: result.claims, result })
    }

    const { header } = classified
    const context: CheckContext = { header, claims, config: this.#config, now: Date.now() / 1000 }
    for (const check of JWT_CHECKS)
      await run(check.name, () => {
        check.run(context)
      })
    if (steps.find((s) => s.check === 'issuer')?.ok === true) {
      await run('signature', () => this.#verifySignature(token, header, claims.iss as string))
    }
    if (!steps.every((s) => s.ok)) return report({ header, claims })
    let result = buildResult(
      token,
      'jwt',
      claims,
      claims.iss as string,
      audienceList(claims.aud),
      this.#config,
    )
    if (this.#config.introspection?.mode === 'always') {
      const introspected = await run('introspection', async () => {
        result = await this.#introspected(token, result.issuer)
      })
      if (!introspected) return report({ header, claims })
    }
    if (requirements !== undefined)
      await run('requirements', () => {
        checkRequirements(result, requirements)
      })
    return report({ header, claims, result })
  }

  #checkLength(token: string): void {
    if (typeof token !== 'string' || token === '') {
      throw new TokenwardError('malformed_token', { detail: 'no token' })
    }
    if (token.length > this.#config.maxTokenLength) {
      throw new TokenwardError('malformed_token', {
        detail: `longer than ${this.#config.maxTokenLength} characters`,
      })
    }
  }

  #fromIntrospection(token: string, claims: Claims): AuthResult {
    const config = this.#config
    const now = Date.now() / 1000
    let issuer = config.issuers[0]!
    if (claims.iss !== undefined) issuer = checkIssuer(claims, config.issuerSet)
    checkTimes(claims, config.time, now, false)
    let audience: readonly string[] = []
    if (claims.aud === undefined && config.introspection!.audienceOptional) {
      checkAuthorizedParty(claims, config.audience.authorizedParties)
    } else {
      audience = checkAudience(claims, config.audience)
    }
    return buildResult(token, 'introspection', claims, issuer, audience, config)
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

const TOKEN_CACHE_HIT = Object.freeze({ type: 'cache_hit', cache: 'token' } as const)
const TOKEN_CACHE_MISS = Object.freeze({ type: 'cache_miss', cache: 'token' } as const)

/** When a verified token's lifetime checks stop holding: `exp`, or `iat` + maxTokenAgeSeconds. */
function lifetimeEnd(claims: Claims, time: Config['time']): number {
  const skew = time.clockToleranceSeconds
  const end = (claims.exp as number) + skew
  const { iat } = claims
  return time.maxTokenAgeSeconds === undefined || typeof iat !== 'number'
    ? end
    : Math.min(end, iat + time.maxTokenAgeSeconds + skew)
}

function buildResult(
  token: string,
  source: 'jwt' | 'introspection',
  claims: Claims,
  issuer: string,
  audience: readonly string[],
  config: Config,
): AuthResult {
  const clientId = clientOf(claims)
  const sub = claims.sub
  const exp = claims.exp
  const result: Record<string, unknown> = {
    source,
    claims: deepFreeze(claims),
    subject: typeof sub === 'string' ? sub : clientId,
    clientId,
    issuer,
    audience: Object.freeze([...audience]),
    scopes: Object.freeze(readScopes(claims)),
    roles: deepFreeze(config.roles(claims, source)),
  }
  if (typeof exp === 'number') result.expiresAt = new Date(exp * 1000)
  Object.defineProperty(result, 'token', { value: token, enumerable: false })
  return Object.freeze(result) as unknown as AuthResult
}

function deepFreeze<T>(value: T): T {
  // Iterative: claims from a signed token may still be nested deeper than the call stack.
  const pending: unknown[] = [value]
  while (pending.length > 0) {
    const item = pending.pop()
    if (typeof item === 'object' && item !== null && !Object.isFrozen(item)) {
      Object.freeze(item)
      for (const key in item) {
        const member = (item as Record<string, unknown>)[key]
        if (typeof member === 'object' && member !== null) pending.push(member)
      }
    }
  }
  return value
}
