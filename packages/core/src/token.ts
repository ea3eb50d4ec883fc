/**
 * What kind of token is this (R-B1–R-B3), and its decoded JOSE header and claims. Nothing here
 * verifies anything: it only refuses what cannot be a JWT we could check.
 */
import { hash } from 'node:crypto'
import { TokenwardError } from './errors.js'

const SEGMENT = /^[A-Za-z0-9_-]*$/

export type Classified =
  | { readonly kind: 'jwt'; readonly header: Record<string, unknown>; readonly payload: string }
  | { readonly kind: 'opaque' }

/**
 * A compact JWS has three base64url segments and a header that is a JSON object with a string
 * `alg`. Five segments are a JWE, which is refused. Everything else is opaque.
 */
export function classify(token: string): Classified {
  const first = token.indexOf('.')
  if (first === -1) return { kind: 'opaque' }
  const parts = token.split('.')
  if (parts.length === 5) {
    throw new TokenwardError('malformed_token', {
      detail: 'encrypted tokens (JWE) are not accepted',
    })
  }
  if (parts.length !== 3) return { kind: 'opaque' }
  const [header, payload, signature] = parts as [string, string, string]
  if (
    header === '' ||
    payload === '' ||
    !SEGMENT.test(header) ||
    !SEGMENT.test(payload) ||
    !SEGMENT.test(signature)
  ) {
    return { kind: 'opaque' }
  }
  const decoded = decodeJson(header)
  if (decoded === undefined || typeof decoded.alg !== 'string') return { kind: 'opaque' }
  return { kind: 'jwt', header: decoded, payload }
}

/** The claims of a classified JWT; a payload that is not a JSON object is `malformed_token`. */
export function decodeClaims(payload: string): Record<string, unknown> {
  const claims = decodeJson(payload)
  if (claims === undefined) {
    throw new TokenwardError('malformed_token', { detail: 'the payload is not a JSON object' })
  }
  return claims
}

function decodeJson(segment: string): Record<string, unknown> | undefined {
  // A length of 4n+1 cannot be base64url; Buffer would silently drop the extra character.
  if (segment.length % 4 === 1) return undefined
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

/** Key of the verified-token and introspection caches: SHA-256, never the token itself. */
export function hashToken(token: string): string {
  return hash('sha256', token, 'base64url')
}
