/**
 * How the token was presented: the scheme and the request around it, checked against the
 * token's sender constraint (RFC 9449 DPoP, RFC 8705 certificate) and the route's step-up
 * requirements (RFC 9470). The same checks run for a token met for the first time and for one
 * whose verdict is cached: a proof and a certificate belong to each request.
 */
import { checkAuthentication, checkBinding } from './binding.js'
import { checkDpopProof, dpopHeader } from './dpop.js'
import type { Config } from './options.js'
import { checkRequirements } from './roles.js'
import { andThen } from './settle.js'
import type { AuthResult, RequestContext, Requirements } from './types.js'

/** The request, or a function building it (adapters build it only when binding needs it). */
export type RequestSource = RequestContext | (() => RequestContext) | undefined

/** The scheme and request a token came with. */
export interface Presented {
  readonly scheme: 'Bearer' | 'DPoP'
  readonly request: RequestSource
}

/** A bare token (`validate(token)`): Bearer, no request. */
export const BARE: Presented = Object.freeze({ scheme: 'Bearer', request: undefined })

/** Whether the binding checks have anything to decide (cheap: most tokens are plain bearer). */
export function bindingApplies(result: AuthResult, presented: Presented, config: Config): boolean {
  return (
    presented.scheme === 'DPoP' ||
    config.dpop.mode === 'required' ||
    result.claims.cnf !== undefined
  )
}

/**
 * Checks the DPoP proof (when the token is DPoP-bound or came with the DPoP scheme) and the
 * token's binding; throws `invalid_dpop_proof` or `invalid_token_binding`. A promise only when
 * the proof check waits (a new proof key, an asynchronous replay store).
 */
export function checkPresented(
  result: AuthResult,
  presented: Presented,
  config: Config,
  now: number,
): void | Promise<void> {
  const { dpop } = config
  const policy = { mode: dpop.mode, algorithms: dpop.algorithms }
  const request = typeof presented.request === 'function' ? presented.request() : presented.request
  const clientCertificate = request?.clientCertificate
  const jkt = (result.claims.cnf as { jkt?: unknown } | undefined)?.jkt
  const header =
    request === undefined || (presented.scheme !== 'DPoP' && jkt === undefined)
      ? undefined
      : dpopHeader(request.headers, dpop.algorithms)
  if (header === undefined) {
    checkBinding(result.claims, { scheme: presented.scheme, clientCertificate }, policy)
    return
  }
  const proof = checkDpopProof(header, {
    method: request!.method,
    url: request!.url,
    accessToken: result.token,
    now,
    algorithms: dpop.algorithms,
    iatWindowSeconds: dpop.iatWindowSeconds,
    clockToleranceSeconds: dpop.clockToleranceSeconds,
    replay: dpop.replay,
  })
  return andThen(proof, (checked) => {
    checkBinding(
      result.claims,
      { scheme: presented.scheme, proof: checked, clientCertificate },
      policy,
    )
  })
}

/**
 * What a route requires: the user's authentication (RFC 9470: `acr`, `maxAge`, a 401 asking
 * for a stronger login) before the roles and scopes (a 403).
 */
export function checkRoute(
  result: AuthResult,
  requirements: Requirements,
  config: Config,
  now: number,
): void {
  checkAuthentication(result.claims, requirements, {
    now,
    clockToleranceSeconds: config.time.clockToleranceSeconds,
  })
  checkRequirements(result, requirements)
}
