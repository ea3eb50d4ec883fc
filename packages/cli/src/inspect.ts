/**
 * `tokenward inspect`: runs the core's checks on one token (`validator.inspect`) and prints one
 * line per check: pass or fail, what was found, and how to fix a failure. It decides nothing
 * itself. Exit status: 0 valid, 1 rejected, 2 usage error or issuer unreachable.
 */
import { parseArgs } from 'node:util'
import {
  createValidator,
  isTokenwardError,
  type Inspection,
  type InspectionStep,
  type IntrospectionAuth,
  type Requirements,
  type RolesOption,
  type ValidatorOptions,
} from '@tokenward/core'
import { hintFor, type HintContext } from './hints.js'

/** Where the command reads and writes; injectable for tests. */
export interface CommandIo {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  readonly readStdin: () => Promise<string>
  readonly colour: boolean
  readonly env: Readonly<Record<string, string | undefined>>
}

export const USAGE = `Usage: tokenward inspect [TOKEN|-] --issuer URL [options]

Explains, check by check, why a bearer token passes or fails. The token is read from the
argument, or from standard input with "-" or when no argument is given.

Options:
  --issuer URL          the issuer (exact iss); repeat for several
  --audience ID         a trusted audience value; repeat for several
  --required ID         an audience value that must be present (this API's id); repeat
  --strict              strict audience mode: every aud value must be trusted
  --profile zitadel     ZITADEL-fitting defaults (ID tokens rejected by shape)
  --roles PRESET        zitadel | keycloak | scope (zitadel reads --project-id or --required)
  --project-id ID       this API's ZITADEL project id (for --roles zitadel)
  --role ROLE           a role the token must grant; repeat for several
  --scope SCOPE         a scope the token must carry; repeat for several
  --introspect          introspect opaque tokens (RFC 7662)
  --introspect-always   introspect every token, JWTs too
  --client-id ID        introspection client id (secret from --client-secret or TOKENWARD_CLIENT_SECRET)
  --client-secret S     introspection client secret (client_secret_basic)
  --key-file PATH       ZITADEL key file for private_key_jwt introspection
  --json                machine-readable output
  --help                this text

Exit status: 0 valid, 1 rejected, 2 usage error or issuer unreachable.`

class UsageError extends Error {}

interface Parsed {
  readonly token: string | undefined
  readonly options: ValidatorOptions
  readonly requirements: Requirements | undefined
  readonly json: boolean
  readonly hints: Omit<HintContext, 'claims'>
}

function parse(argv: readonly string[], env: CommandIo['env']): Parsed | 'help' {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
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
      help: { type: 'boolean' },
    },
  })
  if (values.help === true) return 'help'
  const [command, token, ...rest] = positionals
  if (command !== 'inspect')
    throw new UsageError(command === undefined ? 'no command' : `unknown command "${command}"`)
  if (rest.length > 0) throw new UsageError('give one token')
  const issuer = values.issuer ?? []
  if (issuer.length === 0) throw new UsageError('--issuer is required')
  const trusted = values.audience ?? []
  const required = values.required ?? []
  if (trusted.length === 0 && required.length === 0) {
    throw new UsageError('give --audience (the values this API trusts) and/or --required')
  }
  if (values.profile !== undefined && values.profile !== 'zitadel')
    throw new UsageError('--profile takes zitadel')

  const options: Record<string, unknown> = {
    issuer: issuer.length === 1 ? issuer[0] : issuer,
    audience: {
      trusted: trusted.length > 0 ? trusted : required,
      mode: values.strict === true ? 'strict' : 'lenient',
      ...(required.length > 0 ? { required } : {}),
    },
    tokenCache: false,
  }
  if (values.profile !== undefined) options.profile = values.profile
  const roles = rolesOption(values.roles, values['project-id'])
  if (roles !== undefined) options.roles = roles
  if (values.introspect === true || values['introspect-always'] === true) {
    options.introspection = {
      auth: introspectionAuth(
        values['client-id'],
        values['client-secret'] ?? env.TOKENWARD_CLIENT_SECRET,
        values['key-file'],
      ),
      mode: values['introspect-always'] === true ? 'always' : 'opaque',
    }
  }
  const requirements: Requirements | undefined =
    values.role !== undefined || values.scope !== undefined
      ? {
          ...(values.role === undefined ? {} : { roles: values.role }),
          ...(values.scope === undefined ? {} : { scopes: values.scope }),
        }
      : undefined
  return {
    token: token === '-' ? undefined : token,
    options: options as unknown as ValidatorOptions,
    requirements,
    json: values.json === true,
    hints: { trusted, required, strict: values.strict === true, issuer },
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
    case 'requirements':
      return `roles ${JSON.stringify(result?.roles ?? {})}, scopes ${JSON.stringify(result?.scopes ?? [])}`
  }
}

/** Runs the command; resolves to the exit status. */
export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  let parsed: Parsed | 'help'
  let validator: ReturnType<typeof createValidator>
  try {
    parsed = parse(argv, io.env)
    if (parsed === 'help') {
      io.stdout(`${USAGE}\n`)
      return 0
    }
    validator = createValidator(parsed.options)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    io.stderr(`tokenward: ${message}\n\n${USAGE}\n`)
    return 2
  }
  const token = (parsed.token ?? (await io.readStdin())).trim()
  let report: Inspection
  try {
    report = await validator.inspect(token, parsed.requirements)
  } catch (error) {
    io.stderr(`tokenward: ${isTokenwardError(error) ? error.description : 'unexpected error'}\n`)
    return 2
  } finally {
    await validator.close()
  }
  const context: HintContext = { ...parsed.hints, claims: report.claims }
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
          hint: hintFor(step.error.code, context),
        },
  )
  if (parsed.json) {
    const result = report.result
    io.stdout(
      `${JSON.stringify(
        {
          valid: report.valid,
          steps,
          header: report.header,
          claims: report.claims,
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
