/** The public shape of a validator and of its `inspect` report. */
import type { TokenwardError } from './errors.js'
import type { StepReport } from './inspect.js'
import type { HttpRequestParts } from './request-context.js'
import type { AuthResult, Claims, RequestContext, Requirements } from './types.js'

/** This API's RFC 9728 metadata document and where it is served. */
export interface ProtectedResource {
  /** `/.well-known/oauth-protected-resource` plus the path of the resource id (RFC 9728 §3.1). */
  readonly path: string
  readonly document: Readonly<Record<string, unknown>>
}

/** A configured validator. Create one per API with {@link createValidator} and share it. */
export interface Validator {
  /** Validates a token and, when given, the route's requirements. Rejects with a {@link TokenwardError}. */
  validate(token: string, requirements?: Requirements): Promise<AuthResult>
  /** Parses an `Authorization` header (every value the request carried), then validates. */
  authenticate(
    authorization: string | readonly string[] | undefined,
    requirements?: Requirements,
    request?: RequestContext | (() => RequestContext),
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
    request?: RequestContext | (() => RequestContext),
  ): AuthResult | Promise<AuthResult>
  /**
   * {@link Validator.authenticateNow} with a rejection known at once (no token, a remembered
   * forgery) returned rather than thrown, for the adapter kit: a thrown error costs the request
   * several microseconds more than the checks themselves. Anything found later still rejects
   * the promise, and a failing check may still throw.
   */
  decide?(
    authorization: string | readonly string[] | undefined,
    requirements?: Requirements,
    request?: RequestContext | (() => RequestContext),
  ): AuthResult | Promise<AuthResult> | TokenwardError
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
  inspect(token: string, requirements?: Requirements, request?: RequestContext): Promise<Inspection>
  /**
   * Reports an error that is not a {@link TokenwardError} (a bug, a throwing callback) through
   * the validator's logger: what adapters do before they answer it with a bare 500.
   */
  reportUnexpected?(error: unknown): void
  /**
   * The {@link RequestContext} of a request from its parts, by the `http` option (base URL,
   * trusted proxy headers, the client-certificate header): what adapters pass to
   * {@link Validator.authenticateNow}.
   */
  requestContext?(parts: HttpRequestParts): RequestContext
  /**
   * This API's protected resource metadata (RFC 9728) and the path adapters serve it at, when
   * the `resource` option is set.
   */
  protectedResource?(): ProtectedResource | undefined
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
