/**
 * The `tokenward` command: reads the command line and runs `inspect` or `decode`. A mistake on
 * the command line is answered in one line on standard error, with exit status 2.
 */
import { readFileSync } from 'node:fs'
import { isTokenwardError } from '@tokenward/core'
import { UsageError, flag, readCommandLine, type OptionSpecs } from './args.js'
import { DECODE_OPTIONS, runDecode } from './decode.js'
import { INSPECT_OPTIONS, runInspect } from './inspect.js'
import type { CommandIo } from './io.js'

/** What `tokenward --help` prints. */
export const USAGE = `Usage: tokenward inspect [TOKEN|-] --issuer URL [options]
       tokenward decode [TOKEN|-] [--json]
       tokenward --version

inspect  runs every check of @tokenward/core on the token, with your API's settings, and
         explains check by check why it passes or fails, and how to fix a failure.
decode   prints the JWT's header and claims. It checks nothing: not the signature, the
         issuer, the audience nor the lifetime.

The token is read from the argument, or from standard input with "-" or when none is given.

Options of inspect:
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

The request the token came with (sender-constrained tokens, step-up):
  --dpop-proof JWT      the DPoP header value (RFC 9449); needs --url
  --method METHOD       the request's method, checked against the proof's htm (default GET)
  --url URL             the absolute URL the request was sent to, checked against htu
  --cert PATH           the client certificate (PEM or DER) of a certificate-bound token (RFC 8705)
  --cert-thumbprint T   or its SHA-256 thumbprint, base64url (x5t#S256) or hex
  --acr VALUE,...       acr values the route accepts (RFC 9470); repeat or separate with commas
  --max-age SECONDS     the oldest login the route accepts, against auth_time (RFC 9470)

Options of both:
  --json                machine-readable output
  --help, -h            this text
  --version, -v         the version of tokenward

Exit status: inspect 0 valid, 1 rejected, 2 usage error or issuer unreachable;
             decode 0 decoded, 1 not a JWT, 2 usage error.`

const COMMANDS: Readonly<Record<string, OptionSpecs>> = {
  inspect: INSPECT_OPTIONS,
  decode: DECODE_OPTIONS,
}

const GLOBAL_OPTIONS: OptionSpecs = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
}

/** The version of @tokenward/cli, from its package.json (beside both `src/` and `dist/`). */
export function version(): string {
  const manifest: unknown = JSON.parse(
    readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
  )
  const value =
    typeof manifest === 'object' && manifest !== null && 'version' in manifest
      ? manifest.version
      : undefined
  if (typeof value !== 'string') throw new Error('no version in package.json')
  return value
}

/** Runs `tokenward` with `argv` (without `node` and the script); resolves to the exit status. */
export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  try {
    const line = readCommandLine(argv, COMMANDS, GLOBAL_OPTIONS)
    if (flag(line, 'help')) {
      io.stdout(`${USAGE}\n`)
      return 0
    }
    if (flag(line, 'version')) {
      io.stdout(`${version()}\n`)
      return 0
    }
    switch (line.command) {
      case 'inspect':
        return await runInspect(line, io)
      case 'decode':
        return await runDecode(line, io)
      default:
        io.stderr(`${USAGE}\n`)
        return 2
    }
  } catch (error) {
    // A bad command line, or an option the core refuses (ConfigurationError names it).
    if (
      error instanceof UsageError ||
      (isTokenwardError(error) && error.code === 'invalid_config')
    ) {
      io.stderr(`tokenward: ${error.message.replace(/^tokenward: /, '')}\n`)
      return 2
    }
    throw error
  }
}
