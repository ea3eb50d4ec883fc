/**
 * The adapter kit: everything a framework adapter needs from the core besides the validator, so
 * that no adapter carries a rule of its own. An adapter reads the request's `Authorization`
 * values, calls {@link authenticateRequest}, attaches the result, and renders a failure with
 * {@link renderFailure}.
 */
import { authorizationValues } from './bearer.js'
import {
  isTokenwardError,
  toHttpResponse,
  type HttpErrorResponse,
  type TokenwardError,
} from './errors.js'
import type { AuthResult, RequestContext, Requirements, ValidatorOptions } from './types.js'
import { createValidator, type Validator } from './validator.js'

/** Restricts role guards to roles granted in one organisation. */
export interface RoleOptions {
  readonly org?: string
}

/** The validator an adapter was given, or one created from options (which checks them now). */
export function resolveValidator(optionsOrValidator: ValidatorOptions | Validator): Validator {
  return adapterValidator(optionsOrValidator).validator
}

/** {@link resolveValidator}, saying whether the adapter created it (and so must close it). */
export function adapterValidator(optionsOrValidator: ValidatorOptions | Validator): {
  readonly validator: Validator
  readonly created: boolean
} {
  const given = typeof (optionsOrValidator as Partial<Validator>).authenticate === 'function'
  return given
    ? { validator: optionsOrValidator as Validator, created: false }
    : { validator: createValidator(optionsOrValidator as ValidatorOptions), created: true }
}

/**
 * Authenticates one request: `accepted(result)` (or `accepted(undefined)` for a request without
 * a token when `optional`), else `rejected(error)` with the error to render or pass on. Both are
 * called synchronously when nothing had to be fetched, so a cached token costs no promise; the
 * return value is theirs, or a promise of it. `accepted` runs outside any `try`: what the
 * application does next is not the adapter's to catch.
 */
export function authenticateRequest<R>(
  validator: Validator,
  authorization: string | readonly string[] | undefined,
  optional: boolean,
  accepted: (auth: AuthResult | undefined) => R,
  rejected: (error: unknown) => R,
  request?: RequestContext | (() => RequestContext),
): R | Promise<R> {
  let auth: AuthResult | Promise<AuthResult> | TokenwardError
  try {
    auth =
      validator.decide === undefined
        ? validator.authenticateNow(authorization, undefined, request)
        : validator.decide(authorization, undefined, request)
  } catch (error) {
    return refused(error, optional, accepted, rejected)
  }
  if (auth instanceof Promise) {
    return auth.then(accepted, (error: unknown) => refused(error, optional, accepted, rejected))
  }
  if (isTokenwardError(auth)) return refused(auth, optional, accepted, rejected)
  return accepted(auth)
}

/** Without a token, an optional route goes on unauthenticated; every other failure is rejected. */
function refused<R>(
  error: unknown,
  optional: boolean,
  accepted: (auth: AuthResult | undefined) => R,
  rejected: (error: unknown) => R,
): R {
  return optional && isTokenwardError(error) && error.code === 'missing_token'
    ? accepted(undefined)
    : rejected(error)
}

/**
 * The HTTP answer to a failure: a `TokenwardError` answers with its status, challenge and body;
 * anything else (a bug, a throwing callback) is reported through the validator's logger and
 * answered with a bare 500.
 */
export function renderFailure(validator: Validator, error: unknown): HttpErrorResponse {
  if (!isTokenwardError(error)) validator.reportUnexpected?.(error)
  return toHttpResponse(error)
}

/**
 * The answer to a request for this API's protected resource metadata (RFC 9728 §3.2: a GET of
 * `/.well-known/oauth-protected-resource`, with the resource id's path after it), or undefined
 * for any other request (or without the `resource` option).
 */
export function metadataResponse(
  validator: Validator,
  method: string,
  path: string,
): HttpResponse | undefined {
  if (method !== 'GET' && method !== 'HEAD') return undefined
  const resource = validator.protectedResource?.()
  if (resource === undefined) return undefined
  const query = path.indexOf('?')
  if ((query === -1 ? path : path.slice(0, query)) !== resource.path) return undefined
  return {
    status: 200,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'max-age=300' },
    body: resource.document,
  }
}

/** A framework-neutral HTTP answer. */
export interface HttpResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: unknown
}

/** What a Node server request (`http.IncomingMessage`) offers for DPoP and mTLS. */
export interface NodeRequestLike {
  readonly method?: string | undefined
  readonly url?: string | undefined
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>
  /** A `net.Socket`, or a `tls.TLSSocket` (`encrypted`, `getPeerCertificate()`). */
  readonly socket?: object | null
}

interface TlsSocketLike {
  readonly encrypted?: boolean
  getPeerCertificate?(): unknown
}

/**
 * The request context of a Node request, built when binding needs it (a DPoP proof, a
 * certificate-bound token): the absolute URL per the validator's `http` option, the headers and
 * the TLS connection's client certificate (RFC 8705 §3).
 */
export function nodeRequestContext(
  validator: Validator,
  req: NodeRequestLike,
  url = req.url ?? '/',
): () => RequestContext {
  return () => {
    const socket = (req.socket ?? undefined) as TlsSocketLike | undefined
    const peer = socket?.getPeerCertificate?.() as { raw?: unknown } | undefined
    const parts = {
      method: req.method ?? 'GET',
      path: url,
      headers: req.headers,
      encrypted: socket?.encrypted === true,
      certificate: peer?.raw instanceof Uint8Array ? { raw: peer.raw } : undefined,
    }
    return (
      validator.requestContext?.(parts) ?? {
        method: parts.method,
        url: `http://localhost${parts.path}`,
        headers: req.headers,
      }
    )
  }
}

/** What a Node-based adapter does with a request's outcome. */
export interface NodeOutcome<R> {
  /** The token was accepted (or, optional, there was none): attach `auth` and go on. */
  readonly accepted: (auth: AuthResult | undefined) => R
  /** Render the failure (or pass it on to the framework). */
  readonly rejected: (error: unknown) => R
  /** Answer with this response (the protected resource metadata, RFC 9728). */
  readonly answer: (response: HttpResponse) => R
}

/**
 * One request of a Node-based framework (Express, Koa, Fastify): the RFC 9728 metadata when it
 * asks for it, else the request authenticated from every `Authorization` line (`rawHeaders`),
 * its DPoP proof and client certificate read only if the token needs them. `url` is the path
 * and query the client sent (Express's `originalUrl`).
 */
export function authenticateNodeRequest<R>(
  validator: Validator,
  req: NodeRequestLike & { readonly rawHeaders: readonly string[] },
  url: string,
  optional: boolean,
  outcome: NodeOutcome<R>,
): R | Promise<R> {
  const metadata = metadataResponse(validator, req.method ?? 'GET', url)
  if (metadata !== undefined) return outcome.answer(metadata)
  return authenticateRequest(
    validator,
    authorizationValues(req.rawHeaders),
    optional,
    outcome.accepted,
    outcome.rejected,
    nodeRequestContext(validator, req, url),
  )
}

/**
 * Closes a validator the adapter created once the Node server that used it closes (`server` is
 * `req.socket.server`; runtimes without one leave the validator to be collected).
 */
export function closeWithServer(validator: Validator, server: unknown): void {
  const closable = server as { once?: (event: 'close', listener: () => void) => unknown } | null
  if (typeof closable?.once !== 'function' || watched.has(validator)) return
  watched.add(validator)
  closable.once('close', () => void validator.close())
}

/** Validators whose server is already watched (one listener per validator). */
const watched = new WeakSet<Validator>()

/**
 * The requirements of a role guard's arguments: every role named, and with a trailing
 * `{ org }` only where granted in that organisation (`requireRoles('a', 'b', { org })`).
 */
export function roleRequirements(args: readonly (string | RoleOptions)[]): Requirements {
  const last = args.at(-1)
  if (typeof last !== 'object') return { roles: args as string[] }
  const roles = args.slice(0, -1) as string[]
  return { roles: last.org === undefined ? roles : { allOf: roles, org: last.org } }
}

/** The guards every adapter offers beside `requireAuth`, each a shorthand for its requirements. */
export interface RouteGuards<Guard> {
  /** Requires every role named; a trailing `{ org }` counts only roles granted in that organisation. */
  readonly requireRoles: {
    (...roles: string[]): Guard
    (...args: [...roles: string[], options: RoleOptions]): Guard
  }
  /** Requires every scope named; a 403 names them in the challenge. */
  readonly requireScopes: (...scopes: string[]) => Guard
  /**
   * Requires a login with one of these authentication context classes (`acr`, RFC 9470): a token
   * with another is 401 `insufficient_user_authentication`, its challenge naming `acr_values`.
   */
  readonly requireAcr: (...acr: string[]) => Guard
}

/** An adapter's shorthand guards, made from its own `requireAuth`. */
export function routeGuards<Guard>(
  requireAuth: (requirements: Requirements) => Guard,
): RouteGuards<Guard> {
  return {
    requireRoles: (...args: (string | RoleOptions)[]) => requireAuth(roleRequirements(args)),
    requireScopes: (...scopes: string[]) => requireAuth({ scopes }),
    requireAcr: (...acr: string[]) => requireAuth({ acr }),
  }
}
