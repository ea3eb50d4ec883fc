/**
 * `inspect`: the pipeline's steps walked one by one and each reported, for tools such as
 * `tokenward inspect`. The same list `validate` runs, so the two can never disagree.
 */
import { isTokenwardError, type TokenwardError } from './errors.js'
import { STEPS, type CheckName, type Parts, type StepName, type Work } from './pipeline.js'

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
export async function inspectPipeline(work: Work, parts: Parts): Promise<StepReport[]> {
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
