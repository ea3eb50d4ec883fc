/**
 * What kind of token this is (a compact JWS, RFC 7515 §7.1, or opaque), and its decoded JOSE
 * header and claims. Nothing here verifies anything: it only refuses what cannot be a JWT we
 * could check.
 */
import { LRUCache } from 'lru-cache'
import { TokenwardError } from './errors.js'
import { runtime } from './runtime/index.js'

export type Classified =
  | {
      readonly kind: 'jwt'
      readonly header: Readonly<Record<string, unknown>>
      readonly payload: string
    }
  | { readonly kind: 'opaque' }

/** Three base64url segments, the first two non-empty: one pass over the token. */
const JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/** Whether the token has a compact JWS's shape (such a token is a valid RFC 6750 b64token too). */
export function isJwsShaped(token: string): boolean {
  return JWS.test(token)
}

function dots(token: string): number {
  let count = 0
  for (let at = token.indexOf('.'); at !== -1; at = token.indexOf('.', at + 1)) count++
  return count
}

/**
 * Classifies tokens for one validator. An issuer's tokens share a handful of headers (one per
 * key), so decoded headers are kept, frozen, in a small LRU: most tokens skip a base64 decode and
 * a JSON.parse. The last header decoded is compared first, which is cheaper than hashing.
 */
export class TokenClassifier {
  readonly #headers = new LRUCache<string, Readonly<Record<string, unknown>>>({ max: 64 })
  #lastSegment = ''
  #lastHeader: Readonly<Record<string, unknown>> = {}

  /**
   * A compact JWS has three base64url segments and a header that is a JSON object with a string
   * `alg`. Five segments are a JWE, which is refused. Everything else is opaque.
   */
  classify(token: string, jwsShaped = isJwsShaped(token)): Classified {
    if (!jwsShaped) {
      const count = dots(token)
      if (count === 4) {
        throw new TokenwardError('malformed_token', {
          detail: 'encrypted tokens (JWE) are not accepted',
        })
      }
      // A JWS respelled (base64 padding, the base64 alphabet) is still a JWS: refused here, so
      // it can never be sent to introspection past the checks a JWT gets.
      if (count === 2 && hasJoseHeader(token.slice(0, token.indexOf('.')))) {
        throw new TokenwardError('malformed_token', {
          detail: 'a JWS must be three unpadded base64url segments',
        })
      }
      return { kind: 'opaque' }
    }
    const first = token.indexOf('.')
    const second = token.indexOf('.', first + 1)
    const header = this.#header(token.slice(0, first))
    if (header === undefined || typeof header.alg !== 'string') return { kind: 'opaque' }
    if (!isCanonicalBase64url(token, second + 1)) {
      throw new TokenwardError('malformed_token', {
        detail: 'the signature is not canonical base64url',
      })
    }
    return { kind: 'jwt', header, payload: token.slice(first + 1, second) }
  }

  #header(segment: string): Readonly<Record<string, unknown>> | undefined {
    if (segment === this.#lastSegment) return this.#lastHeader
    let header = this.#headers.get(segment)
    if (header === undefined) {
      const decoded = decodeJson(segment)
      if (decoded === undefined) return undefined
      header = Object.freeze(decoded)
      // A header past 1 KiB is no issuer's: it is decoded each time rather than kept.
      if (segment.length > 1024) return header
      this.#headers.set(segment, header)
    }
    this.#lastSegment = segment
    this.#lastHeader = header
    return header
  }

  clear(): void {
    this.#headers.clear()
    this.#lastSegment = ''
    this.#lastHeader = {}
  }
}

/** Whether `segment`, read leniently (padding, either base64 alphabet), is a JOSE header. */
function hasJoseHeader(segment: string): boolean {
  try {
    const value: unknown = JSON.parse(runtime.decodeBase64Text(segment))
    return typeof value === 'object' && value !== null && 'alg' in value
  } catch {
    return false
  }
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/**
 * Whether the base64url text from `start` to the end is canonical (RFC 4648 §3.5): the bits the
 * last character carries beyond the data are zero, so one signature has one spelling and a
 * token cannot be respelled past `invalidate()` or a deny-list keyed on the string.
 */
function isCanonicalBase64url(token: string, start: number): boolean {
  const length = token.length - start
  const rest = length % 4
  if (rest === 0) return true
  if (rest === 1) return false
  const last = BASE64URL.indexOf(token[token.length - 1]!)
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0
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
  // A length of 4n+1 cannot be base64url; the decoder would silently drop the extra character.
  if (segment.length % 4 === 1) return undefined
  try {
    const value: unknown = JSON.parse(runtime.decodeBase64Text(segment))
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

/** Key of the introspection cache and its shared store: SHA-256, never the token itself. */
export function hashToken(token: string): string {
  return runtime.sha256(token)
}
