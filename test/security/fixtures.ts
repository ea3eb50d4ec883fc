// Shared by the security suite: fixed key pairs, a hand-rolled JWS minter (any header, any
// payload bytes, any signature: what an attacker controls) and the README's error table.
import {
  createHmac,
  generateKeyPairSync,
  sign as nodeSign,
  type KeyObject,
  type SignKeyObjectInput,
} from 'node:crypto'
import type { JWK } from 'jose'
import { isTokenwardError, type TokenwardError, type TokenwardErrorCode } from '@tokenward/core'

export const ISSUER = 'https://issuer.tokenward.test'
export const AUDIENCE = 'https://api.tokenward.test'

/**
 * The README's "Error codes": code → HTTP status. Written out here (not imported from the core) so the
 * tests hold the core to the contract rather than to itself.
 */
export const DOCUMENTED_STATUS: Readonly<Partial<Record<TokenwardErrorCode, number>>> = {
  missing_token: 401,
  invalid_request: 400,
  malformed_token: 401,
  alg_not_allowed: 401,
  unknown_key: 401,
  invalid_signature: 401,
  token_expired: 401,
  token_not_yet_valid: 401,
  invalid_issuer: 401,
  invalid_audience: 401,
  untrusted_audience: 401,
  unauthorized_party: 401,
  invalid_token_type: 401,
  token_inactive: 401,
  insufficient_scope: 403,
  insufficient_role: 403,
  upstream_unavailable: 503,
}

// ---------------------------------------------------------------------------------------------
// Encoding

export function b64url(value: string | Buffer | Uint8Array): string {
  return (typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value)).toString(
    'base64url',
  )
}

/** A header or payload segment: objects are JSON-encoded, strings are taken as raw JSON text. */
export function segment(value: unknown): string {
  if (typeof value === 'string') return b64url(value)
  if (Buffer.isBuffer(value)) return b64url(value)
  return b64url(JSON.stringify(value))
}

export type Signer = (input: Buffer) => Buffer

/** A compact JWS over exactly these segments. `signer` undefined = empty signature. */
export function jws(header: unknown, payload: unknown, signer?: Signer): string {
  const input = `${segment(header)}.${segment(payload)}`
  const signature =
    signer === undefined ? '' : signer(Buffer.from(input, 'ascii')).toString('base64url')
  return `${input}.${signature}`
}

/** Replaces the signature segment. */
export function withSignature(token: string, signature: Buffer | string): string {
  const head = token.slice(0, token.lastIndexOf('.'))
  return `${head}.${typeof signature === 'string' ? signature : signature.toString('base64url')}`
}

// ---------------------------------------------------------------------------------------------
// Keys (generated once per test file, synchronously, so tables can be built at collection time)

export interface KeyPair {
  readonly privateKey: KeyObject
  readonly publicKey: KeyObject
}

export function rsaPair(): KeyPair {
  return generateKeyPairSync('rsa', { modulusLength: 2048 })
}
export function ecPair(namedCurve = 'P-256'): KeyPair {
  return generateKeyPairSync('ec', { namedCurve })
}
export function edPair(): KeyPair {
  return generateKeyPairSync('ed25519')
}

export function publicJwk(pair: KeyPair, kid: string, alg: string): JWK {
  return { ...(pair.publicKey.export({ format: 'jwk' }) as JWK), kid, alg, use: 'sig' }
}

const DIGEST: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' }

/** A signer for a JWS `alg` with `privateKey` (RS*, PS*, ES* in IEEE-P1363 form, EdDSA). */
export function signerFor(alg: string, privateKey: KeyObject): Signer {
  const digest = DIGEST[alg.slice(2)] ?? null
  if (alg === 'EdDSA') return (input) => nodeSign(null, input, privateKey)
  const key: SignKeyObjectInput = { key: privateKey }
  if (alg.startsWith('PS')) {
    key.padding = 6 // RSA_PKCS1_PSS_PADDING
    key.saltLength = -1 // RSA_PSS_SALTLEN_DIGEST
  } else if (alg.startsWith('ES')) {
    key.dsaEncoding = 'ieee-p1363'
  }
  return (input) => nodeSign(digest, input, key)
}

/** HMAC signer (HS256/384/512) with an arbitrary secret: the algorithm-confusion attack. */
export function hmacSigner(alg: string, secret: string | Buffer): Signer {
  const digest = DIGEST[alg.slice(2)] ?? 'sha256'
  return (input) => createHmac(digest, secret).update(input).digest()
}

// ---------------------------------------------------------------------------------------------
// Claims and outcomes

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}

/** Claims every check accepts (lenient audience `AUDIENCE`, issuer `ISSUER`). */
export function goodClaims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = nowSeconds()
  return {
    iss: ISSUER,
    sub: 'user-1',
    aud: AUDIENCE,
    iat: now - 10,
    nbf: now - 10,
    exp: now + 600,
    jti: 'jti-1',
    client_id: 'client-1',
    ...extra,
  }
}

/** What a call ended with: a result, a TokenwardError, or something else thrown. */
export type Outcome<T> =
  | { readonly kind: 'ok'; readonly value: T }
  | { readonly kind: 'rejected'; readonly error: TokenwardError }
  | { readonly kind: 'thrown'; readonly error: unknown }

export async function outcome<T>(run: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { kind: 'ok', value: await run() }
  } catch (error) {
    return isTokenwardError(error) ? { kind: 'rejected', error } : { kind: 'thrown', error }
  }
}

/** `{ code, status }` of an outcome, or `'valid'`, or a description of the foreign exception. */
export function verdictOf(result: Outcome<unknown>): string | { code: string; status: number } {
  if (result.kind === 'ok') return 'valid'
  if (result.kind === 'rejected') return { code: result.error.code, status: result.error.status }
  const error = result.error
  return `threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
