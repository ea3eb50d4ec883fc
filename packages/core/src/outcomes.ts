/**
 * How a validator's answers leave it: a rejection gets the validator's realm, and every answer
 * is reported to `onEvent` (with how long it took) and, where an operator must act, to the
 * logger. The one place a `TokenwardError` is stamped and counted.
 */
import { dpopChallenge } from './binding.js'
import { isTokenwardError, type AuthScheme } from './errors.js'
import type { Config } from './options.js'
import { NO_ROLE_READER } from './roles.js'
import type { AuthResult } from './types.js'

/** `started` when nothing is timed (no onEvent hook): no clock is read. */
export const NOT_TIMED = -1

const TOKEN_CACHE_HIT = Object.freeze({ type: 'cache_hit', cache: 'token' } as const)
const TOKEN_CACHE_MISS = Object.freeze({ type: 'cache_miss', cache: 'token' } as const)

export class Outcomes {
  #warnedNoRoles = false
  #warnedIssuerSlash = false

  constructor(private readonly config: Config) {}

  /** The time a validation starts, read only when someone listens. */
  start(): number {
    return this.config.onEvent === undefined ? NOT_TIMED : performance.now()
  }

  tokenCache(hit: boolean): void {
    this.config.onEvent?.(hit ? TOKEN_CACHE_HIT : TOKEN_CACHE_MISS)
  }

  /** Reports an accepted token. */
  accepted(result: AuthResult, cached: boolean, started: number): AuthResult {
    if (started === NOT_TIMED) return result
    this.config.onEvent?.({
      type: 'authenticated',
      source: result.source,
      cached,
      issuer: result.issuer,
      subject: result.subject,
      durationMs: performance.now() - started,
    })
    return result
  }

  /**
   * Every rejection leaves through here: it gets the validator's realm, the resource metadata
   * URL (RFC 9728 §5.1) and, where DPoP is in play, the DPoP challenge (RFC 9449 §7.1: for a
   * request that used the DPoP scheme, or when only DPoP-bound tokens are accepted), and is
   * counted.
   */
  rejected(error: unknown, started = NOT_TIMED, scheme: AuthScheme = 'Bearer'): unknown {
    if (!isTokenwardError(error)) return error
    const { dpop, resource } = this.config
    error.realm = this.config.realm
    if (resource !== undefined) error.resourceMetadata = resource.metadataUrl
    if (error.dpop === undefined && (scheme === 'DPoP' || dpop.mode === 'required')) {
      error.dpop = dpopChallenge({ mode: dpop.mode, algorithms: dpop.algorithms })
      error.scheme ??= scheme
    }
    if (error.code === 'invalid_issuer' && !this.#warnedIssuerSlash) this.#issuerSlash(error.cause)
    const { onEvent } = this.config
    if (onEvent !== undefined) {
      onEvent(
        started === NOT_TIMED
          ? { type: 'rejected', code: error.code }
          : { type: 'rejected', code: error.code, durationMs: performance.now() - started },
      )
    }
    return error
  }

  /**
   * Tokens whose `iss` is a configured issuer but for a trailing slash: every one of them is
   * refused (OIDC Core §3.1.3.7 asks for an exact match), so the operator hears of it, once.
   */
  #issuerSlash(cause: unknown): void {
    const { configured, tokenIssuer } = (cause ?? {}) as Record<string, unknown>
    if (typeof configured !== 'string' || typeof tokenIssuer !== 'string') return
    this.#warnedIssuerSlash = true
    this.config.logger?.warn(
      `tokenward: tokens name the issuer ${JSON.stringify(tokenIssuer)} and the validator's issuer is ${JSON.stringify(configured)}: iss must equal it exactly, so every such token is refused (invalid_issuer); set issuer to ${JSON.stringify(tokenIssuer)} if that is your issuer`,
      { option: 'issuer' },
    )
  }

  /** A role guard on a validator without `roles` can only ever answer 403: say so, once. */
  roleGuard(): void {
    if (this.#warnedNoRoles || this.config.roles !== NO_ROLE_READER) return
    this.#warnedNoRoles = true
    this.config.logger?.warn(
      'tokenward: a route requires roles, but the validator has no roles option, so no token grants any role (every such request is 403); set roles, e.g. roles: "zitadel"',
      { option: 'roles' },
    )
  }

  /** An error that is not a `TokenwardError` (a bug, a throwing callback), for the operator. */
  unexpected(error: unknown): void {
    this.config.logger?.error('tokenward: unexpected error while authenticating a request', {
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    })
  }
}
