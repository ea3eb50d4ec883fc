/**
 * RFC 6750 §2.1: `Authorization: Bearer <b64token>`. The scheme is case-insensitive; another
 * scheme counts as no token (§3.1: no error information); a malformed Bearer credential or more
 * than one Authorization header is `invalid_request`.
 */
import { TokenwardError } from './errors.js'

const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

/** An access token and the scheme it came with. */
export interface Credential {
  readonly scheme: 'Bearer' | 'DPoP'
  readonly token: string
}

/**
 * The credential of an `Authorization` header: `Bearer` (RFC 6750 §2.1), or `DPoP` (RFC 9449
 * §7.1) when `dpop` is accepted; any other scheme counts as no token. Its syntax is not checked
 * yet: a token the validator has cached passed {@link checkB64token} when it was first seen, so
 * a cache hit skips the pattern.
 */
export function credentialOf(
  authorization: unknown,
  maxTokenLength: number,
  dpop: boolean,
): Credential {
  let header: unknown = authorization
  if (Array.isArray(header)) {
    if (header.length > 1) {
      throw new TokenwardError('invalid_request', { detail: 'more than one Authorization header' })
    }
    header = header[0]
  }
  if (header === undefined || header === null) throw new TokenwardError('missing_token')
  if (typeof header !== 'string') {
    throw new TokenwardError('invalid_request', { detail: 'the Authorization header is not text' })
  }
  const value = header.trim()
  if (value === '') throw new TokenwardError('missing_token')
  // The scheme ends at the first white space; RFC 7235 §2.1 separates it from its credentials
  // with spaces only (1*SP): any other white space there makes a malformed Bearer header.
  const end = value.search(/\s/)
  const given = (end === -1 ? value : value.slice(0, end)).toLowerCase()
  const scheme = given === 'bearer' ? 'Bearer' : dpop && given === 'dpop' ? 'DPoP' : undefined
  if (scheme === undefined) throw new TokenwardError('missing_token')
  if (end !== -1 && value[end] !== ' ') {
    throw new TokenwardError('invalid_request', {
      detail: 'the scheme must be followed by a space',
    })
  }
  const token = end === -1 ? '' : value.slice(end + 1).replace(/^ +/, '')
  if (token === '') {
    throw new TokenwardError('invalid_request', { detail: `no token after ${scheme}` })
  }
  if (token.length > maxTokenLength) {
    throw new TokenwardError('malformed_token', {
      detail: `longer than ${maxTokenLength} characters`,
    })
  }
  return { scheme, token }
}

/** RFC 6750 §2.1's b64token, or `invalid_request`. */
export function checkB64token(token: string): void {
  if (!B64TOKEN.test(token)) {
    throw new TokenwardError('invalid_request', { detail: 'the Bearer credential is malformed' })
  }
}

/**
 * Every `Authorization` value of a Node request, from `rawHeaders` (`req.headers` keeps only the
 * first of several). Give the result to `authenticate`: more than one value is `invalid_request`.
 */
export function authorizationValues(rawHeaders: readonly string[]): string[] | undefined {
  let values: string[] | undefined
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!
    if (name.length === 13 && name.toLowerCase() === 'authorization') {
      ;(values ??= []).push(rawHeaders[i + 1]!)
    }
  }
  return values
}
