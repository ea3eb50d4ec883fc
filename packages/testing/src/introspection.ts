/**
 * Token introspection (RFC 7662): the tokens this issuer minted, client authentication with
 * client_secret_basic or client_secret_post (RFC 6749 §2.3.1), and the answers.
 */
import { createHash, timingSafeEqual } from 'node:crypto'

import type { JsonObject } from './mint.js'
import type { ClientCredentials } from './types.js'

interface Minted {
  /** The members of an `active: true` answer (without `active`). */
  readonly claims: JsonObject
  revoked: boolean
}

/** Every token minted by one issuer, by value. */
export class TokenStore {
  readonly #tokens = new Map<string, Minted>()

  add(token: string, claims: JsonObject): void {
    this.#tokens.set(token, { claims, revoked: false })
  }

  /** Marks a known token revoked; false for an unknown one. */
  revoke(token: string): boolean {
    const minted = this.#tokens.get(token)
    if (minted === undefined) return false
    minted.revoked = true
    return true
  }

  /**
   * RFC 7662 §2.2: `active: true` with the token's claims while it is known, not revoked, not
   * expired (`exp` ≤ now) and already valid (`nbf` ≤ now); otherwise only `active: false`, which
   * says nothing about why.
   */
  answer(token: string, nowSeconds: number): JsonObject {
    const minted = this.#tokens.get(token)
    if (minted === undefined || minted.revoked) return { active: false }
    const { exp, nbf } = minted.claims
    if (typeof exp === 'number' && exp <= nowSeconds) return { active: false }
    if (typeof nbf === 'number' && nbf > nowSeconds) return { active: false }
    return { ...minted.claims, active: true }
  }
}

/** The outcome of client authentication: the client, or the error to answer with. */
export type ClientCheck =
  | { readonly ok: true }
  | {
      readonly ok: false
      readonly status: 400 | 401
      readonly error: 'invalid_request' | 'invalid_client'
      readonly description: string
      /** RFC 6749 §5.2: a 401 to a client that tried the Authorization header names its scheme. */
      readonly challenge?: string
    }

/** One form-urlencoded value decoded (RFC 6749 Appendix B), as a browser would. */
const formDecode = (value: string): string => new URLSearchParams(`v=${value}`).get('v') ?? ''

/** `Basic base64(urlencode(id):urlencode(secret))`, RFC 6749 §2.3.1; undefined for another scheme. */
function parseBasic(authorization: string | undefined): ClientCredentials | null | undefined {
  const match = /^basic +(\S+) *$/i.exec(authorization ?? '')
  if (match === null) return undefined
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) return null
  return {
    clientId: formDecode(decoded.slice(0, colon)),
    clientSecret: formDecode(decoded.slice(colon + 1)),
  }
}

/**
 * RFC 6749 §5.2 `invalid_client`, 401. A client that tried the Authorization header (or sent no
 * credentials) is told the scheme to use.
 */
function invalidClient(description: string, challenge: boolean): ClientCheck {
  return {
    ok: false,
    status: 401,
    error: 'invalid_client',
    description,
    ...(challenge ? { challenge: 'Basic realm="introspection"' } : {}),
  }
}

/** Compares in constant time (over digests, so lengths do not leak either). */
function same(a: string, b: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest()
  return timingSafeEqual(digest(a), digest(b))
}

/**
 * Authenticates the introspecting client: exactly one of client_secret_basic and
 * client_secret_post (RFC 6749 §2.3: "MUST NOT use more than one authentication method"), with
 * the issuer's client credentials.
 */
export function authenticateClient(
  expected: ClientCredentials,
  authorization: string | undefined,
  form: URLSearchParams,
): ClientCheck {
  const basic = parseBasic(authorization)
  const postSecret = form.get('client_secret')
  if (basic !== undefined && postSecret !== null) {
    return {
      ok: false,
      status: 400,
      error: 'invalid_request',
      description: 'client authentication must use one method, not both basic and post',
    }
  }
  if (basic === null) return invalidClient('malformed Basic credentials', true)
  const given =
    basic ??
    (postSecret === null
      ? undefined
      : { clientId: form.get('client_id') ?? '', clientSecret: postSecret })
  if (given === undefined) return invalidClient('client authentication is required', true)
  // Both comparisons run, so a wrong id and a wrong secret take the same time.
  const idMatches = same(given.clientId, expected.clientId)
  const secretMatches = same(given.clientSecret, expected.clientSecret)
  if (!idMatches || !secretMatches) {
    return invalidClient('unknown client or wrong secret', basic !== undefined)
  }
  return { ok: true }
}
