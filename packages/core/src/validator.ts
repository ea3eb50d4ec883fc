/**
 * The validator: classifies a token, runs the offline checks, then fetches what it must (keys,
 * introspection) and builds the {@link AuthResult}. Every decision lives in the modules it
 * calls; this file only puts them in order.
 */
import { LRUCache } from 'lru-cache'
import { audienceList, checkAudience, checkAuthorizedParty, clientOf } from './audience.js'
import { JWT_CHECKS, type CheckContext, type CheckName } from './checks.js'
import { extractBearerToken } from './bearer.js'
import { checkIssuer, checkTimes } from './claims.js'
import { Discovery } from './discovery.js'
import { TokenwardError, isTokenwardError } from './errors.js'
import { Introspector } from './introspection.js'
import { RemoteKeys, StaticKeys, type KeySource } from './keys.js'
import { checkOptions, type Config } from './options.js'
import { checkRequirements, readScopes } from './roles.js'
import { verifySignature } from './signature.js'
import { classify, decodeClaims, hashToken, type Classified } from './token.js'
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

/**
 * A cached verdict on a JWT, by SHA-256 of the token: a verified result (until `exp`, and while
 * its key stays in the JWKS), or a forged signature (so a flood of them costs a hash each).
 */
type Verdict =
  | {
      readonly forged: false
      readonly result: AuthResult
      readonly keys: KeySource
      readonly kid: string | undefined
    }
  | { readonly forged: true }

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
  readonly #tokens: LRUCache<string, Verdict> | undefined
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
    this.#tokens =
      config.tokenCache === undefined
        ? undefined
        : new LRUCache({ max: config.tokenCache.max, ttlAutopurge: false })
    this.#introspector =
      config.introspection === undefined
        ? undefined
        : new Introspector(
            config.introspection,
            context,
            (issuer) => this.#issuer(issuer).discovery,
          )
  }

  async validate(token: string, requirements?: Requirements): Promise<AuthResult> {
    try {
      // A cache hit (or a remembered forgery) is answered synchronously: no promise in between.
      const key = this.#cacheKey(token)
      let result = key === undefined ? undefined : this.#cachedToken(key)
      if (result === undefined) {
        // Awaited only when something was fetched: a known key verifies synchronously.
        const verified = this.#verify(token, key)
        result = verified instanceof Promise ? await verified : verified
      }
      if (requirements !== undefined) checkRequirements(result, requirements)
      return result
    } catch (error) {
      throw this.#reject(error)
    }
  }

  authenticate(
    authorization: string | readonly string[] | undefined,
    requirements?: Requirements,
  ): Promise<AuthResult> {
    // Not async itself: validate's promise is the only one a request pays for.
    let token: string
    try {
      token = extractBearerToken(authorization, this.#config.maxTokenLength)
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- extractBearerToken throws TokenwardErrors only
      return Promise.reject(this.#reject(error))
    }
    return this.validate(token, requirements)
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
    this.#tokens?.delete(hashToken(token))
    await this.#introspector?.invalidate(token)
  }

  async close(): Promise<void> {
    this.#tokens?.clear()
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

  /** The verified-token cache key, or undefined when the token is not cached (opaque, 'always'). */
  #cacheKey(token: string): string | undefined {
    this.#checkLength(token)
    // Only JWT verdicts are cached; a token with no dot is opaque (the introspection cache's).
    return this.#tokens === undefined ||
      this.#config.introspection?.mode === 'always' ||
      !token.includes('.')
      ? undefined
      : hashToken(token)
  }

  /** Everything past the verified-token cache; `key` is the token's cache key, if cached. */
  #verify(token: string, key: string | undefined): AuthResult | Promise<AuthResult> {
    const classified = classify(token)
    if (classified.kind === 'opaque') {
      if (this.#introspector === undefined) {
        throw new TokenwardError('malformed_token', { detail: 'not a JWT' })
      }
      return this.#introspected(token, this.#config.issuers[0]!)
    }
    const result = this.#verifyJwt(token, classified.header, classified.payload, key)
    if (this.#config.introspection?.mode !== 'always') return result
    // The signature and claims hold; only the issuer knows whether the token was revoked.
    return Promise.resolve(result).then((verified) => this.#introspected(token, verified.issuer))
  }

  #cachedToken(key: string): AuthResult | undefined {
    const tokens = this.#tokens!
    const entry = tokens.get(key)
    if (entry === undefined) {
      this.#config.onEvent?.({ type: 'cache_miss', cache: 'token' })
      return undefined
    }
    this.#config.onEvent?.({ type: 'cache_hit', cache: 'token' })
    if (entry.forged) throw new TokenwardError('invalid_signature')
    try {
      // Time moves on: the lifetime checks of first sight again (exp, maxTokenAgeSeconds).
      checkTimes(entry.result.claims, this.#config.time, Date.now() / 1000, true)
    } catch (error) {
      tokens.delete(key)
      throw error
    }
    if (entry.kid !== undefined && !entry.keys.hasKid(entry.kid)) {
      // The key left the JWKS: verify again (and fail unless it comes back).
      tokens.delete(key)
      return undefined
    }
    return entry.result
  }

  async #introspected(token: string, issuer: string): Promise<AuthResult> {
    const claims = await this.#introspector!.introspect(token, issuer)
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
    cacheKey: string | undefined,
  ): AuthResult | Promise<AuthResult> {
    const config = this.#config
    const claims = decodeClaims(payload)
    const now = Date.now() / 1000
    const context: CheckContext = { header, claims, config, now }
    for (const check of JWT_CHECKS) check.run(context)
    // The checks above established these shapes.
    const issuer = claims.iss as string
    const exp = claims.exp as number
    const ttlMs =
      cacheKey === undefined ? 0 : Math.min(config.tokenCache!.ttlSeconds, exp - now) * 1000
    const forged = (error: unknown): never => {
      if (ttlMs > 0 && isTokenwardError(error) && error.code === 'invalid_signature') {
        this.#tokens!.set(cacheKey!, FORGED, { ttl: ttlMs })
      }
      throw error
    }
    const accept = (keys: KeySource): AuthResult => {
      const result = buildResult(token, 'jwt', claims, issuer, audienceList(claims.aud), config)
      if (ttlMs > 0) {
        const kid = typeof header.kid === 'string' ? header.kid : undefined
        this.#tokens!.set(cacheKey!, { forged: false, result, keys, kid }, { ttl: ttlMs })
      }
      return result
    }
    let keys: KeySource | Promise<KeySource>
    try {
      keys = this.#verifySignature(token, header, issuer)
    } catch (error) {
      return forged(error)
    }
    return keys instanceof Promise ? keys.then(accept, forged) : accept(keys)
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
      await run('introspection', async () => (result = await this.#verify(token, undefined)))
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

const FORGED: Verdict = Object.freeze({ forged: true })

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
      for (const member of Object.values(item)) pending.push(member)
    }
  }
  return value
}
