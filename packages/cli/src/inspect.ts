/**
 * `tokenward inspect`: runs the core's checks on one token (`validator.inspect`) and prints one
 * line per check: pass or fail, what was found, and how to fix a failure. It decides nothing
 * itself. Exit status: 0 valid, 1 rejected, 2 usage error or issuer unreachable.
 */
import {
  createValidator,
  isTokenwardError,
  type Inspection,
  type InspectionStep,
  type IntrospectionAuth,
  type RequestContext,
  type Requirements,
  type RolesOption,
  type ValidatorOptions,
} from '@tokenward/core'
import { UsageError, flag, strings, text, type CommandLine, type OptionSpecs } from './args.js'
import type { CommandIo } from './io.js'
import { hintFor, type HintContext } from './hints.js'
import { REQUEST_OPTIONS, readRequest, type RequestEvidence } from './request.js'

/** The options of `tokenward inspect`. */
export const INSPECT_OPTIONS: OptionSpecs = {
  issuer: { type: 'string', multiple: true },
  audience: { type: 'string', multiple: true },
  required: { type: 'string', multiple: true },
  strict: { type: 'boolean' },
  profile: { type: 'string' },
  roles: { type: 'string' },
  'project-id': { type: 'string', multiple: true },
  role: { type: 'string', multiple: true },
  scope: { type: 'string', multiple: true },
  introspect: { type: 'boolean' },
  'introspect-always': { type: 'boolean' },
  'client-id': { type: 'string' },
  'client-secret': { type: 'string' },
  'key-file': { type: 'string' },
  json: { type: 'boolean' },
  ...REQUEST_OPTIONS,
}

interface Parsed {
  readonly token: string | undefined
  readonly options: ValidatorOptions
  readonly requirements: Requirements | undefined
  /** The request the token came with (DPoP proof, certificate), when one was described. */
  readonly request: RequestContext | undefined
  readonly json: boolean
  readonly hints: Omit<HintContext, 'claims'> & { readonly request: RequestEvidence }
}

function parse(line: CommandLine, env: CommandIo['env']): Parsed {
  if (line.operands.length > 1) throw new UsageError('give one token')
  const token = line.operands[0]
  const issuer = strings(line, 'issuer') ?? []
  if (issuer.length === 0) throw new UsageError('--issuer is required')
  const trusted = strings(line, 'audience') ?? []
  const required = strings(line, 'required') ?? []
  if (trusted.length === 0 && required.length === 0) {
    throw new UsageError('give --audience (the values this API trusts) and/or --required')
  }
  const profile = text(line, 'profile')
  if (profile !== undefined && profile !== 'zitadel')
    throw new UsageError('--profile takes zitadel')
  const strict = flag(line, 'strict')

  const options: Record<string, unknown> = {
    issuer: issuer.length === 1 ? issuer[0] : issuer,
    audience: {
      trusted: trusted.length > 0 ? trusted : required,
      mode: strict ? 'strict' : 'lenient',
      ...(required.length > 0 ? { required } : {}),
    },
    tokenCache: false,
  }
  if (profile !== undefined) options.profile = profile
  const roles = rolesOption(text(line, 'roles'), strings(line, 'project-id'))
  if (roles !== undefined) options.roles = roles
  const always = flag(line, 'introspect-always')
  if (flag(line, 'introspect') || always) {
    options.introspection = {
      auth: introspectionAuth(
        text(line, 'client-id'),
        text(line, 'client-secret') ?? env.TOKENWARD_CLIENT_SECRET,
        text(line, 'key-file'),
      ),
      mode: always ? 'always' : 'opaque',
    }
  }
  const role = strings(line, 'role')
  const scope = strings(line, 'scope')
  const { request, stepUp, evidence } = readRequest(line)
  const requirements: Requirements | undefined =
    role !== undefined || scope !== undefined || Object.keys(stepUp).length > 0
      ? {
          ...(role === undefined ? {} : { roles: role }),
          ...(scope === undefined ? {} : { scopes: scope }),
          ...stepUp,
        }
      : undefined
  return {
    token: token === '-' ? undefined : token,
    options: options as unknown as ValidatorOptions,
    requirements,
    request,
    json: flag(line, 'json'),
    hints: { trusted, required, strict, issuer, request: evidence },
  }
}

function rolesOption(
  preset: string | undefined,
  projectIds: string[] | undefined,
): RolesOption | undefined {
  if (preset === undefined) return undefined
  if (preset === 'zitadel') {
    return projectIds === undefined ? 'zitadel' : { preset: 'zitadel', projectId: projectIds }
  }
  if (preset === 'keycloak' || preset === 'scope') return preset
  throw new UsageError('--roles takes zitadel, keycloak or scope')
}

function introspectionAuth(
  clientId: string | undefined,
  secret: string | undefined,
  keyFile: string | undefined,
): IntrospectionAuth {
  if (keyFile !== undefined) return { method: 'private_key_jwt', keyFile }
  if (clientId === undefined || secret === undefined) {
    throw new UsageError(
      '--introspect needs --key-file, or --client-id with --client-secret (or TOKENWARD_CLIENT_SECRET)',
    )
  }
  return { method: 'client_secret_basic', clientId, clientSecret: secret }
}

/** One line of the report. */
type StepLine =
  | { readonly check: InspectionStep['check']; readonly ok: true; readonly found: string }
  | {
      readonly check: InspectionStep['check']
      readonly ok: false
      readonly code: string
      readonly status: number
      readonly description: string
      readonly hint: string | undefined
    }

/** What a passing check found, for the human output. */
function found(step: InspectionStep, report: Inspection): string {
  const { header, claims, result } = report
  switch (step.check) {
    case 'format':
      return header === undefined ? 'an opaque token' : 'a signed JWT (JWS compact)'
    case 'algorithm':
      return `alg ${String(header?.alg)}`
    case 'critical':
      return 'no critical header extensions'
    case 'type':
      return header?.typ === undefined ? 'no typ' : `typ ${JSON.stringify(header.typ)}`
    case 'lifetime':
      return typeof claims?.exp === 'number'
        ? `expires ${new Date(claims.exp * 1000).toISOString()}`
        : 'no expiry'
    case 'issuer':
      return String(claims?.iss)
    case 'kind':
      return 'an access token'
    case 'audience':
      return `aud ${JSON.stringify(claims?.aud)}`
    case 'signature':
      return `verified with the issuer's key${typeof header?.kid === 'string' ? ` ${header.kid}` : ''}`
    case 'introspection':
      return 'the issuer says active'
    case 'binding':
      return bindingFound(claims?.cnf)
    case 'requirements':
      return [
        `roles ${JSON.stringify(result?.roles ?? {})}, scopes ${JSON.stringify(result?.scopes ?? [])}`,
        ...(claims?.acr === undefined ? [] : [`acr ${JSON.stringify(claims.acr)}`]),
        ...(typeof claims?.auth_time === 'number'
          ? [`auth_time ${new Date(claims.auth_time * 1000).toISOString()}`]
          : []),
      ].join(', ')
  }
}

/** What a passing binding check proved: the DPoP key, the client certificate, or nothing to. */
function bindingFound(cnf: unknown): string {
  const confirmation = (typeof cnf === 'object' && cnf !== null ? cnf : {}) as Record<
    string,
    unknown
  >
  const proven = [
    ...(typeof confirmation.jkt === 'string'
      ? [`the DPoP proof's key is cnf.jkt ${confirmation.jkt}`]
      : []),
    ...(typeof confirmation['x5t#S256'] === 'string'
      ? [`the client certificate is cnf x5t#S256 ${confirmation['x5t#S256']}`]
      : []),
  ]
  return proven.length === 0 ? 'not sender-constrained' : proven.join('; ')
}

/**
 * Runs `tokenward inspect` on a parsed command line; resolves to the exit status. Throws a
 * `UsageError` (or the core's `ConfigurationError`) for a bad command line.
 */
export async function runInspect(line: CommandLine, io: CommandIo): Promise<number> {
  const parsed = parse(line, io.env)
  const validator = createValidator(parsed.options)
  let report: Inspection
  try {
    const token = (parsed.token ?? (await io.readStdin())).trim()
    report = await validator.inspect(token, parsed.requirements, parsed.request)
  } catch (error) {
    io.stderr(`tokenward: ${isTokenwardError(error) ? error.description : 'unexpected error'}\n`)
    return 2
  } finally {
    await validator.close()
  }
  const context: HintContext = {
    ...parsed.hints,
    claims: report.claims,
    now: Date.now() / 1000,
  }
  const unreachable = report.steps.some((step) => step.error?.code === 'upstream_unavailable')
  const status = report.valid ? 0 : unreachable ? 2 : 1
  const steps = report.steps.map((step): StepLine =>
    step.ok || step.error === undefined
      ? { check: step.check, ok: true, found: found(step, report) }
      : {
          check: step.check,
          ok: false,
          code: step.error.code,
          status: step.error.status,
          description: step.error.description,
          hint: hintFor(step.error.code, { ...context, error: step.error }),
        },
  )
  const proof = parsed.hints.request.proof
  if (parsed.json) {
    const result = report.result
    io.stdout(
      `${JSON.stringify(
        {
          valid: report.valid,
          steps,
          header: report.header,
          claims: report.claims,
          ...(proof === undefined ? {} : { proof: { header: proof.header, claims: proof.claims } }),
          ...(result === undefined
            ? {}
            : {
                result: {
                  source: result.source,
                  subject: result.subject,
                  clientId: result.clientId,
                  issuer: result.issuer,
                  audience: result.audience,
                  scopes: result.scopes,
                  roles: result.roles,
                },
              }),
        },
        null,
        2,
      )}\n`,
    )
    return status
  }
  const paint = (code: number, text: string): string =>
    io.colour ? `\x1b[${code}m${text}\x1b[0m` : text
  const lines: string[] = []
  if (report.header !== undefined) lines.push(`header  ${JSON.stringify(report.header)}`)
  if (report.claims !== undefined) lines.push(`claims  ${JSON.stringify(report.claims)}`)
  if (proof !== undefined) {
    lines.push(`proof   ${JSON.stringify({ header: proof.header, claims: proof.claims })}`)
  }
  if (lines.length > 0) lines.push('')
  for (const step of steps) {
    const mark = step.ok ? paint(32, 'pass') : paint(31, 'FAIL')
    const name = step.check.padEnd(14)
    if (step.ok) {
      lines.push(`${mark}  ${name}${step.found}`)
    } else {
      lines.push(`${mark}  ${name}${step.code} (${step.status}): ${step.description}`)
      if (step.hint !== undefined) lines.push(`      ${' '.repeat(14)}fix: ${step.hint}`)
    }
  }
  const failed = steps.find((step): step is Extract<StepLine, { ok: false }> => !step.ok)
  lines.push('')
  lines.push(
    report.valid
      ? paint(32, 'valid')
      : paint(31, `rejected: ${failed?.status ?? ''} ${failed?.code ?? ''}`.trim()),
  )
  io.stdout(`${lines.join('\n')}\n`)
  return status
}
