/**
 * The pipeline: every step a token goes through, in order, in one list. `validate` runs it and
 * stops at the first failure; `inspect` walks the same list and reports each step (running a
 * step only when the steps it needs have passed), so the two can never disagree.
 *
 * A step is a few phases. A phase returns nothing when it is done and a promise only when it
 * must wait for the network (discovery, keys, an introspection answer): {@link advance} is the
 * one place that waits, so a token whose key is known, or whose verdict is cached, is answered
 * synchronously.
 */
import { audienceList, checkAudience, checkAuthorizedParty } from './audience.js'
import { checkB64token } from './bearer.js'
import {
  checkAlgorithm,
  checkCritical,
  checkIntrospectedType,
  checkIssuer,
  checkTimes,
  checkTokenKind,
  checkType,
} from './claims.js'
import { TokenwardError } from './errors.js'
import { exactIssuer } from './issuer-policy.js'
import type { Config } from './options.js'
import { bindingApplies, checkPresented, checkRoute } from './presentation.js'
import { buildResult } from './result.js'
import { andThen } from './settle.js'
import { verifySignature } from './signature.js'
import { decodeClaims, isJwsShaped } from './token.js'
import type { AuthResult, Claims } from './types.js'
import type { CheckName, Parts, StepName, Work } from './work.js'

export type { CheckName, StepName } from './work.js'

/** A phase: nothing when done, a promise when it waits for the network. */
type Phase = (work: Work, parts: Parts) => void | Promise<void>

export interface Step {
  readonly name: StepName
  /** For `inspect`: the steps that must have passed first; `'all'`: every step before it. */
  readonly needs: readonly CheckName[] | 'all'
  readonly applies: (work: Work, parts: Parts) => boolean
  readonly phases: readonly Phase[]
}

const isJwt = (work: Work): boolean => work.classified.kind === 'jwt'

/** An offline check of a JWT: it needs only the decoded token. */
function offline(name: CheckName, check: (work: Work, config: Config) => void): Step {
  return {
    name,
    needs: ['format'],
    applies: isJwt,
    phases: [
      (w, p) => {
        check(w, p.config)
      },
    ],
  }
}

/** Every step, in the order `validate` runs them. */
export const STEPS: readonly Step[] = [
  {
    name: 'format',
    needs: [],
    applies: () => true,
    phases: [
      (work, { config, classifier, introspector }) => {
        const { token } = work
        if (typeof token !== 'string' || token === '') {
          throw new TokenwardError('malformed_token', { detail: 'no token' })
        }
        if (token.length > config.maxTokenLength) {
          throw new TokenwardError('malformed_token', {
            detail: `longer than ${config.maxTokenLength} characters`,
          })
        }
        const jwsShaped = isJwsShaped(token)
        // A JWS's shape implies the b64token syntax; any other token from a header is checked.
        if (work.fromHeader && !jwsShaped) checkB64token(token)
        const classified = classifier.classify(token, jwsShaped)
        work.classified = classified
        if (classified.kind === 'jwt') {
          work.header = classified.header
          work.claims = decodeClaims(classified.payload)
        } else if (introspector === undefined || config.issuers.length === 0) {
          // Nothing can vouch for an opaque token: no introspection, or no issuer named to ask.
          throw new TokenwardError('malformed_token', { detail: 'not a JWT' })
        }
      },
    ],
  },
  offline('algorithm', (w, config) => {
    checkAlgorithm(w.header, config.header)
  }),
  offline('critical', (w) => {
    checkCritical(w.header)
  }),
  offline('type', (w, config) => {
    checkType(w.header, config.header)
  }),
  offline('lifetime', (w, config) => {
    checkTimes(w.claims, config.time, w.now, true)
  }),
  offline('issuer', (w, config) => {
    checkIssuer(w.claims, config.issuer)
  }),
  offline('kind', (w, config) => {
    checkTokenKind(w.claims, config.zitadelProfile)
  }),
  offline('audience', (w, config) => {
    checkAudience(w.claims, config.audience)
  }),
  {
    // The signature verifies with the issuer's key for the header's `kid` and `alg`.
    name: 'signature',
    needs: ['format', 'issuer'],
    applies: isJwt,
    phases: [
      (w, p) =>
        andThen(p.issuers.get(w.claims.iss as string).keys(), (keys) => {
          w.keys = keys
        }),
      (w) =>
        andThen(w.keys!.getKey(w.header), (key) => {
          w.key = key
        }),
      (w) => verifySignature(w.token, w.header.alg as string, w.key!),
    ],
  },
  {
    name: 'result',
    needs: 'all',
    applies: isJwt,
    phases: [
      (w, { config, verdicts }) => {
        const { claims } = w
        const audience = audienceList(claims.aud)
        w.result = buildResult(w.token, 'jwt', claims, claims.iss as string, audience, config.roles)
        if (w.remember) verdicts.rememberVerified(w.result, w.keys!, w.key!, w.now)
      },
    ],
  },
  {
    // An opaque token; or, with introspection 'always', a JWT whose signature and claims hold:
    // only the issuer knows whether it was revoked.
    name: 'introspection',
    needs: 'all',
    applies: (w, p) => !isJwt(w) || p.config.introspection?.mode === 'always',
    phases: [
      (w, p) => {
        const issuer = w.result === undefined ? p.issuers.first : p.issuers.get(w.result.issuer)
        w.introspectedAt = issuer.issuer
        return andThen(issuer.introspectionEndpoint(), (endpoint) => {
          w.endpoint = endpoint
        })
      },
      (w, p) => {
        const answer = p.introspector!.introspect(w.token, w.endpoint, w.introspectedAt)
        w.cached = !(answer instanceof Promise)
        return andThen(answer, (active) => {
          w.answer = active.claims
          w.answerUntil = active.until
        })
      },
      (w, p) => {
        const now = p.config.clock() / 1000
        let result = p.introspectionResults.get(w.answer, now)
        if (result === undefined) {
          result = fromIntrospection(w.token, w.answer, w.introspectedAt, p.config, now)
          p.introspectionResults.set(w.answer, result)
        }
        w.result = result
        // The result stands as long as its answer is cached: found as fast as a verified JWT.
        if (w.remember) p.verdicts.rememberIntrospected(result, w.answerUntil / 1000, now)
      },
    ],
  },
  {
    // The sender constraint: a DPoP proof or the client certificate the token is bound to.
    name: 'binding',
    needs: 'all',
    applies: (w, p) => w.result !== undefined && bindingApplies(w.result, w.presented, p.config),
    phases: [(w, p) => checkPresented(w.result!, w.presented, p.config, w.now)],
  },
  {
    name: 'requirements',
    needs: 'all',
    applies: (w) => w.requirements !== undefined,
    phases: [
      (w, p) => {
        checkRoute(w.result!, w.requirements!, p.config, w.now)
      },
    ],
  },
]

/**
 * The result of an active introspection answer from `issuer`'s endpoint, after the same policy
 * as a JWT's claims. An `iss` in the answer must name that issuer: another configured issuer's
 * name would let one issuer speak for another.
 */
function fromIntrospection(
  token: string,
  claims: Claims,
  issuer: string,
  config: Config,
  now: number,
): AuthResult {
  checkIntrospectedType(claims)
  if (claims.iss !== undefined) checkIssuer(claims, exactIssuer(issuer))
  checkTimes(claims, config.time, now, false)
  let audience: readonly string[] = []
  if (claims.aud === undefined && config.introspection!.audienceOptional) {
    checkAuthorizedParty(claims, config.audience.authorizedParties)
  } else {
    audience = checkAudience(claims, config.audience)
  }
  return buildResult(token, 'introspection', claims, issuer, audience, config.roles)
}

/**
 * Runs the pipeline from step `from`, phase `phase`: synchronously until a phase waits, then
 * on from where it waited once the promise settles.
 */
function advance(work: Work, parts: Parts, from: number, phase: number): void | Promise<void> {
  for (let s = from; s < STEPS.length; s++, phase = 0) {
    const step = STEPS[s]!
    if (!step.applies(work, parts)) continue
    work.step = step.name
    for (let p = phase; p < step.phases.length; p++) {
      const pending = step.phases[p]!(work, parts)
      if (pending !== undefined) return pending.then(() => advance(work, parts, s, p + 1))
    }
  }
}

/**
 * Validates: the result, synchronously when nothing had to be fetched. A failure goes through
 * `failed` (which says what to throw) whether it happened at once or after a wait.
 */
export function runPipeline(
  work: Work,
  parts: Parts,
  failed: (work: Work, error: unknown) => unknown,
): AuthResult | Promise<AuthResult> {
  let pending: void | Promise<void>
  try {
    pending = advance(work, parts, 0, 0)
  } catch (error) {
    throw failed(work, error)
  }
  if (pending === undefined) return work.result!
  return pending.then(
    () => work.result!,
    (error: unknown) => {
      throw failed(work, error)
    },
  )
}
