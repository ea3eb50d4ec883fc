/**
 * A request answered from a cached verdict. A remembered forgery is refused at once: its
 * rejection is returned, not thrown (the caller decides whether to throw it). A
 * remembered result is the token's, not the request's: the proof or certificate the request
 * carries (RFC 9449, RFC 8705) and the route's requirements are checked every time.
 */
import { TokenwardError } from './errors.js'
import type { Config } from './options.js'
import { NOT_TIMED, type Outcomes } from './outcomes.js'
import { checkPresented, checkRoute, type Presented, type RequestSource } from './presentation.js'
import type { AuthResult, Requirements } from './types.js'
import { FORGED, type Known } from './verdicts.js'

export function answerFromCache(
  known: NonNullable<Known>,
  requirements: Requirements | undefined,
  started: number,
  request: RequestSource,
  scheme: Presented['scheme'],
  config: Config,
  outcomes: Outcomes,
): AuthResult | Promise<AuthResult> | TokenwardError {
  outcomes.tokenCache(true)
  if (known === FORGED) return new TokenwardError('invalid_signature')
  // The common case, a plain bearer token: nothing of the request to check.
  if (scheme === 'Bearer' && known.claims.cnf === undefined && config.dpop.mode !== 'required') {
    return answerCached(known, requirements, started, config, outcomes)
  }
  const checked = checkPresented(known, { scheme, request }, config, config.clock() / 1000)
  if (checked === undefined) return answerCached(known, requirements, started, config, outcomes)
  return checked
    .then(() => answerCached(known, requirements, started, config, outcomes))
    .catch((error: unknown) => {
      throw outcomes.rejected(error, started, scheme)
    })
}

/** A cached result, once the route's requirements hold. */
function answerCached(
  known: AuthResult,
  requirements: Requirements | undefined,
  started: number,
  config: Config,
  outcomes: Outcomes,
): AuthResult {
  if (requirements !== undefined) checkRoute(known, requirements, config, config.clock() / 1000)
  return started === NOT_TIMED ? known : outcomes.accepted(known, true, started)
}
