/**
 * `inspect`: the pipeline's steps walked one by one and each reported, for tools such as
 * `tokenward inspect`. The same list `validate` runs, so the two can never disagree.
 */
import { isTokenwardError, type TokenwardError } from './errors.js'
import { STEPS } from './pipeline.js'
import { BARE, type Presented } from './presentation.js'
import type { RequestContext, Requirements } from './types.js'
import type { Inspection } from './validator-types.js'
import { Work, type CheckName, type Parts, type StepName } from './work.js'

/** One reported step of {@link inspectPipeline}. */
export interface StepReport {
  readonly check: CheckName
  readonly ok: boolean
  readonly error?: TokenwardError
}

/**
 * Walks the same steps as `runPipeline`, each one that applies and whose needs passed,
 * and reports each. Anything thrown that is not a `TokenwardError` (a bug, a throwing roles
 * callback) is thrown on.
 */
async function inspectPipeline(work: Work, parts: Parts): Promise<StepReport[]> {
  const reports: StepReport[] = []
  const passed = new Set<StepName>()
  let anyFailed = false
  for (const step of STEPS) {
    const ready = step.needs === 'all' ? !anyFailed : step.needs.every((n) => passed.has(n))
    if (!ready || !step.applies(work, parts)) continue
    work.step = step.name
    try {
      for (const phase of step.phases) await phase(work, parts)
      passed.add(step.name)
      if (step.name !== 'result') reports.push({ check: step.name, ok: true })
    } catch (error) {
      if (!isTokenwardError(error) || step.name === 'result') throw error
      anyFailed = true
      reports.push({ check: step.name, ok: false, error })
    }
  }
  return reports
}

/**
 * Inspects a token: every step's verdict, the decoded header and claims (or the introspection
 * answer's) and, when every check but the route's requirements passed, the result.
 */
export async function inspectToken(
  parts: Parts,
  token: string,
  requirements: Requirements | undefined,
  request: RequestContext | undefined,
): Promise<Inspection> {
  // With a DPoP proof, the token is inspected as sent with the DPoP scheme.
  const scheme: Presented['scheme'] = request?.headers.dpop === undefined ? 'Bearer' : 'DPoP'
  const presented = request === undefined ? BARE : { scheme, request }
  const now = parts.config.clock() / 1000
  const work = new Work(token, requirements, false, now, false, presented)
  const steps = await inspectPipeline(work, parts)
  for (const step of steps) if (step.error !== undefined) step.error.realm = parts.config.realm
  const valid = steps.every((step) => step.ok)
  if (steps[0]?.ok !== true) return { valid, steps }
  // The token's result stands once every check but the route's requirements has passed.
  const settled = steps.every((step) => step.ok || step.check === 'requirements')
  const result = settled ? work.result : undefined
  if (work.classified.kind === 'opaque') {
    // Nothing to decode: the claims are the issuer's answer, when there is one.
    return result === undefined ? { valid, steps } : { valid, steps, claims: result.claims, result }
  }
  const decoded = { valid, steps, header: work.header, claims: work.claims }
  return result === undefined ? decoded : { ...decoded, result }
}
