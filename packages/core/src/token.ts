/**
 * What kind of token is this (R-B1–R-B3), and its decoded JOSE header and claims. Nothing here
 * verifies anything: it only refuses what cannot be a JWT we could check.
 */
import { hash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { TokenwardError } from './errors.js'

export type Classified =
  | {
      readonly kind: 'jwt'
      readonly header: Readonly<Record<string, unknown>>
      readonly payload: string
    }
  | { readonly kind: 'opaque' }

/**
 * A compact JWS has three base64url segments and a header that is a JSON object with a string
 * `alg`. Five segments are a JWE, which is refused. Everything else is opaque.
 */
export function classify(token: string, jwsShaped = isJwsShaped(token)): Classified {
  if (!jwsShaped) {
    if (dots(token) === 4) {
      throw new TokenwardError('malformed_token', {
        detail: 'encrypted tokens (JWE) are not accepted',
      })
    }
    return { kind: 'opaque' }
  }
  const first = token.indexOf('.')
  const second = token.indexOf('.', first + 1)
  const header = decodeHeader(token.slice(0, first))
  if (header === undefined || typeof header.alg !== 'string') return { kind: 'opaque' }
  return { kind: 'jwt', header, payload: token.slice(first + 1, second) }
}

/** Three base64url segments, the first two non-empty: one pass over the token. */
const JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

function dots(token: string): number {
  let count = 0
  for (let at = token.indexOf('.'); at !== -1; at = token.indexOf('.', at + 1)) count++
  return count
}

/** Whether the token has a compact JWS's shape (such a token is a valid RFC 6750 b64token too). */
export function isJwsShaped(token: string): boolean {
  return JWS.test(token)
}

/**
 * An issuer's tokens share a handful of headers (one per key), so decoded headers are kept,
 * frozen, in a small LRU: most tokens skip a base64 decode and a JSON.parse.
 */
const headers = new LRUCache<string, Readonly<Record<string, unknown>>>({ max: 64 })

/** The last header decoded: most tokens carry it, and comparing strings is cheaper than hashing. */
let last: { readonly segment: string; readonly header: Readonly<Record<string, unknown>> } = {
  segment: '',
  header: {},
}

function decodeHeader(segment: string): Readonly<Record<string, unknown>> | undefined {
  if (segment === last.segment) return last.header
  const known = headers.get(segment)
  if (known !== undefined) {
    last = { segment, header: known }
    return known
  }
  const header = decodeJson(segment)
  if (header === undefined) return undefined
  Object.freeze(header)
  if (segment.length <= 1024) {
    headers.set(segment, header)
    last = { segment, header }
  }
  return header
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

/** Key of the introspection cache and its shared store: SHA-256, never the token itself. */
export function hashToken(token: string): string {
  return hash('sha256', token, 'base64url')
}
