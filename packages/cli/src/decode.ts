/**
 * `tokenward decode`: shows what a JWT says about itself, its JOSE header and its claims, and
 * checks nothing: not the signature, the issuer, the audience nor the lifetime. That is what
 * `tokenward inspect` is for. Exit status: 0 decoded, 1 not a readable JWT, 2 usage error.
 */
import { UsageError, flag, type CommandLine, type OptionSpecs } from './args.js'
import type { CommandIo } from './io.js'

/** The options of `tokenward decode`. */
export const DECODE_OPTIONS: OptionSpecs = {
  json: { type: 'boolean' },
}

/** A JSON object decoded from a token part. */
export type JsonObject = Readonly<Record<string, unknown>>

/** What a token shows without any key, by its shape. Nothing in it is verified. */
export type DecodedToken =
  /** A JWS compact serialization (RFC 7515 §7.1) whose payload is a JSON object: a JWT. */
  | { readonly format: 'jwt'; readonly header: JsonObject; readonly claims: JsonObject }
  /** A JWE compact serialization (RFC 7516 §7.1): only the header is readable. */
  | { readonly format: 'jwe'; readonly header: JsonObject }
  /** Not a JOSE object: a reference only the issuer can resolve (RFC 7662 introspection). */
  | { readonly format: 'opaque'; readonly length: number }
  /** A JOSE header, but the rest cannot be a JWT; `reason` says why. */
  | { readonly format: 'malformed'; readonly header: JsonObject; readonly reason: string }

const BASE64URL = /^[A-Za-z0-9_-]+$/

/** A base64url part (RFC 7515 §2: no padding) holding a JSON object, or undefined. */
function jsonPart(part: string | undefined): JsonObject | undefined {
  if (part === undefined || !BASE64URL.test(part)) return undefined
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as JsonObject)
      : undefined
  } catch {
    return undefined
  }
}

/**
 * Decodes a token's header and claims without verifying anything. A token whose first part is
 * not a JOSE header (a JSON object with `alg`) is opaque.
 */
export function decodeToken(token: string): DecodedToken {
  const parts = token.split('.')
  const header = jsonPart(parts[0])
  if (header === undefined || typeof header.alg !== 'string') {
    return { format: 'opaque', length: token.length }
  }
  // RFC 7516 §9: a JWE header has `enc`, and its compact form has five parts.
  if (header.enc !== undefined || parts.length === 5) {
    return parts.length === 5
      ? { format: 'jwe', header }
      : { format: 'malformed', header, reason: `a JWE has five parts, this has ${parts.length}` }
  }
  if (parts.length !== 3) {
    return {
      format: 'malformed',
      header,
      reason: `a JWS has three parts, this has ${parts.length}`,
    }
  }
  const claims = jsonPart(parts[1])
  if (claims === undefined) {
    return { format: 'malformed', header, reason: 'the payload is not a JSON object' }
  }
  return { format: 'jwt', header, claims }
}

/** Claims that hold a NumericDate (RFC 7519 §2: seconds since the epoch). */
const TIME_CLAIMS = ['iat', 'nbf', 'exp', 'auth_time'] as const

const NOT_VERIFIED =
  'Not verified: decode checks nothing (signature, issuer, audience, lifetime); tokenward inspect does.'

/** The human-readable report. */
function describe(decoded: DecodedToken): string[] {
  switch (decoded.format) {
    case 'opaque':
      return [
        `not a JWT: an opaque token (${decoded.length} characters). Only its issuer can tell what it holds: tokenward inspect --introspect asks it (RFC 7662).`,
      ]
    case 'jwe':
      return [
        'header',
        JSON.stringify(decoded.header, null, 2),
        '',
        "an encrypted JWT (JWE): its claims can be read only with the recipient's private key.",
      ]
    case 'malformed':
      return [
        'header',
        JSON.stringify(decoded.header, null, 2),
        '',
        `not a JWT: ${decoded.reason}.`,
      ]
    case 'jwt': {
      const times = TIME_CLAIMS.flatMap((name) => {
        const value = decoded.claims[name]
        return typeof value === 'number' && Number.isFinite(value)
          ? [`${name.padEnd(9)}  ${new Date(value * 1000).toISOString()}`]
          : []
      })
      return [
        'header',
        JSON.stringify(decoded.header, null, 2),
        '',
        'claims',
        JSON.stringify(decoded.claims, null, 2),
        ...(times.length > 0 ? ['', ...times] : []),
        '',
        NOT_VERIFIED,
      ]
    }
  }
}

/**
 * Runs `tokenward decode` on a parsed command line; resolves to the exit status: 0 for a
 * decoded JWT, 1 for anything else. Throws a `UsageError` for a bad command line.
 */
export async function runDecode(line: CommandLine, io: CommandIo): Promise<number> {
  if (line.operands.length > 1) throw new UsageError('give one token')
  const given = line.operands[0]
  const token = (given === undefined || given === '-' ? await io.readStdin() : given).trim()
  if (token === '') throw new UsageError('no token: give it as the argument or on standard input')
  const decoded = decodeToken(token)
  if (flag(line, 'json')) {
    io.stdout(`${JSON.stringify({ verified: false, ...decoded }, null, 2)}\n`)
  } else {
    io.stdout(`${describe(decoded).join('\n')}\n`)
  }
  return decoded.format === 'jwt' ? 0 : 1
}
