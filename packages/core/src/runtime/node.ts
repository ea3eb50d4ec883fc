/**
 * The Node build's runtime (Node, Bun, Deno): node:crypto, node:fs and Buffer.
 *
 * Signatures: jose selects and imports the key (kid, kty, alg, use, key_ops); the signature over
 * that key is then checked by node:crypto's `verify` on the same key, about three times faster
 * than jose's WebCrypto path, and synchronously. Nothing cryptographic is implemented here: this
 * only picks node:crypto's parameters for each JWS algorithm (RFC 7518 §3). A key whose
 * WebCrypto algorithm does not match the JWS `alg` is left to jose, which rejects it.
 * packages/core/test/signature.test.ts proves both paths give the same verdict.
 */
import {
  KeyObject,
  constants,
  createHmac,
  createPrivateKey,
  createPublicKey,
  hash,
  timingSafeEqual,
  verify,
  type JsonWebKey,
} from 'node:crypto'
import { readFileSync } from 'node:fs'
import { sendRequest } from './node-http.js'
import type { VerificationKey } from '../keys.js'
import type { AssertionAlgorithm, PrivateKeyImport, Runtime } from './contract.js'

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

function verifyNatively(token: string, alg: string, key: VerificationKey): boolean | undefined {
  const fast = fastPath(alg, key)
  if (fast === undefined) return undefined
  const dot = token.lastIndexOf('.')
  const signature = Buffer.from(token.slice(dot + 1), 'base64url')
  const input = Buffer.from(token.slice(0, dot), 'ascii')
  const { params, keyObject } = fast
  try {
    return verify(
      params.digest,
      input,
      params.options === undefined ? keyObject : { key: keyObject, ...params.options },
      signature,
    )
  } catch {
    return false
  }
}

/** node:crypto reads PKCS#1 and PKCS#8 PEM (and SEC1 for EC keys). */
function importPrivateKey(pem: string): PrivateKeyImport {
  let key: KeyObject
  try {
    key = createPrivateKey(pem)
  } catch {
    return { problem: 'format' }
  }
  const type = key.asymmetricKeyType
  const alg: AssertionAlgorithm | undefined =
    type === 'rsa' ? 'RS256' : type === 'ec' ? 'ES256' : type === 'ed25519' ? 'EdDSA' : undefined
  if (
    alg === undefined ||
    (type === 'ec' && key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
  ) {
    return { problem: 'type' }
  }
  return { alg, key }
}

function publicJwkProblem(jwk: Readonly<Record<string, unknown>>): string | undefined {
  try {
    createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' })
    return undefined
  } catch (error) {
    return (error as Error).message
  }
}

const bytes = (view: Uint8Array): Buffer =>
  Buffer.from(view.buffer, view.byteOffset, view.byteLength)

export const runtime: Runtime = {
  name: 'node',
  sha256: (data) => hash('sha256', data, 'base64url'),
  hmacSha256: (key, data) => createHmac('sha256', key).update(data).digest('base64url'),
  timingSafeEqual: (a, b) => a.byteLength === b.byteLength && timingSafeEqual(a, b),
  decodeBase64: (text) => Buffer.from(text, 'base64'),
  decodeBase64Text: (text) => Buffer.from(text, 'base64url').toString('utf8'),
  encodeBase64: (data) => bytes(data).toString('base64'),
  verifyNatively,
  exportPublicJwk: (key) =>
    (key instanceof KeyObject ? key : KeyObject.from(key)).export({ format: 'jwk' }),
  publicJwkProblem,
  importPrivateKey,
  readTextFile: (path) => readFileSync(path, 'utf8'),
  send: sendRequest,
}
