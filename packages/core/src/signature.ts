/**
 * The signature check. jose selects and imports the key (kid, kty, alg, use, key_ops); the
 * signature over that key is then checked by node:crypto's `verify` on the same key, about three
 * times faster than jose's WebCrypto path. Nothing cryptographic is implemented here: this only
 * picks node:crypto's parameters for each JWS algorithm (RFC 7518 §3). A key whose WebCrypto
 * algorithm does not match the JWS `alg` is left to jose, which rejects it.
 * packages/core/test/signature.test.ts proves both paths give the same verdict.
 */
import { KeyObject, constants, verify } from 'node:crypto'
import { compactVerify } from 'jose'
import { TokenwardError } from './errors.js'
import type { VerificationKey } from './keys.js'

interface Params {
  /** WebCrypto algorithm name the key must carry. */
  readonly name: string
  /** Hash (RSA) or curve (EC) the key must carry. */
  readonly hashOrCurve?: string
  /** node:crypto digest; null for EdDSA. */
  readonly digest: string | null
  readonly options?: {
    readonly padding?: number
    readonly saltLength?: number
    readonly dsaEncoding?: 'ieee-p1363'
  }
}

const PSS = {
  padding: constants.RSA_PKCS1_PSS_PADDING,
  saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
}
const P1363 = { dsaEncoding: 'ieee-p1363' } as const

const PARAMS: Readonly<Record<string, Params>> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5', hashOrCurve: 'SHA-256', digest: 'sha256' },
  RS384: { name: 'RSASSA-PKCS1-v1_5', hashOrCurve: 'SHA-384', digest: 'sha384' },
  RS512: { name: 'RSASSA-PKCS1-v1_5', hashOrCurve: 'SHA-512', digest: 'sha512' },
  PS256: { name: 'RSA-PSS', hashOrCurve: 'SHA-256', digest: 'sha256', options: PSS },
  PS384: { name: 'RSA-PSS', hashOrCurve: 'SHA-384', digest: 'sha384', options: PSS },
  PS512: { name: 'RSA-PSS', hashOrCurve: 'SHA-512', digest: 'sha512', options: PSS },
  ES256: { name: 'ECDSA', hashOrCurve: 'P-256', digest: 'sha256', options: P1363 },
  ES384: { name: 'ECDSA', hashOrCurve: 'P-384', digest: 'sha384', options: P1363 },
  ES512: { name: 'ECDSA', hashOrCurve: 'P-521', digest: 'sha512', options: P1363 },
  EdDSA: { name: 'Ed25519', digest: null },
}

interface KeyAlgorithm {
  readonly name: string
  readonly hash?: { readonly name: string }
  readonly namedCurve?: string
  readonly modulusLength?: number
}

const keyObjects = new WeakMap<object, KeyObject>()

/** The node:crypto parameters for this key and alg, or undefined when jose must decide. */
function fastPath(
  alg: string,
  key: VerificationKey,
): { params: Params; keyObject: KeyObject } | undefined {
  const params = PARAMS[alg]
  if (params === undefined || !(key instanceof Object) || !('algorithm' in key)) return undefined
  const algorithm = key.algorithm as KeyAlgorithm
  const hashOrCurve = algorithm.hash?.name ?? algorithm.namedCurve
  if (
    key.type !== 'public' ||
    algorithm.name !== params.name ||
    hashOrCurve !== params.hashOrCurve
  ) {
    return undefined
  }
  // RFC 7518 §3.3, §3.5: RSA keys of 2048 bits or more (jose's rule too).
  if (algorithm.modulusLength !== undefined && algorithm.modulusLength < 2048) return undefined
  let keyObject = keyObjects.get(key)
  if (keyObject === undefined) {
    keyObject = KeyObject.from(key)
    keyObjects.set(key, keyObject)
  }
  return { params, keyObject }
}

/**
 * Verifies the compact JWS `token` (already classified) with `key`; throws `invalid_signature`.
 * Synchronous on the node:crypto path; a promise only when jose decides.
 */
export function verifySignature(
  token: string,
  alg: string,
  key: VerificationKey,
): void | Promise<void> {
  const fast = fastPath(alg, key)
  if (fast === undefined) return verifyWithJose(token, alg, key)
  const dot = token.lastIndexOf('.')
  const signature = Buffer.from(token.slice(dot + 1), 'base64url')
  const input = Buffer.from(token.slice(0, dot), 'ascii')
  const { params, keyObject } = fast
  let valid: boolean
  try {
    valid = verify(
      params.digest,
      input,
      params.options === undefined ? keyObject : { key: keyObject, ...params.options },
      signature,
    )
  } catch {
    valid = false
  }
  if (!valid) throw new TokenwardError('invalid_signature')
}

/** jose's own path, for keys and algorithms the fast path leaves alone. */
export async function verifyWithJose(
  token: string,
  alg: string,
  key: VerificationKey,
): Promise<void> {
  try {
    await compactVerify(token, key, { algorithms: [alg] })
  } catch (error) {
    throw joseError(error)
  }
}

/** jose's verification errors, by code. Anything else is not a token problem and stays as it is. */
function joseError(error: unknown): unknown {
  switch ((error as { code?: unknown } | null)?.code) {
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new TokenwardError('invalid_signature', { cause: error })
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return new TokenwardError('alg_not_allowed', { cause: error })
    case 'ERR_JWS_INVALID':
      return new TokenwardError('malformed_token', { cause: error })
    default:
      // A key of the wrong type for alg (jose's TypeError): the token cannot verify with it.
      return error instanceof TypeError
        ? new TokenwardError('invalid_signature', { cause: error })
        : error
  }
}
