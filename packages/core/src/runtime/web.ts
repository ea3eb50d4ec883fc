/**
 * The Web build's runtime (Cloudflare Workers without nodejs_compat, and any runtime with the
 * Web APIs): `crypto.subtle` through jose, `TextEncoder`/`TextDecoder`, `atob`/`btoa`; no Node
 * module and no `Buffer`.
 *
 * What differs from the Node build:
 * - signatures are verified by jose on Web Crypto, a promise per new token (a cached verdict is
 *   still answered synchronously);
 * - a key's identity (what ties a cached verdict to its key) comes from Web Crypto's
 *   asynchronous `exportKey`: it is known once the key has verified a token (signature.ts waits
 *   for it); a key that cannot be exported never gets a cached verdict, every use verifies;
 * - a static JWK is checked for its members at creation, and imported by jose on first use;
 * - a PEM private key must be PKCS#8 (RSA, P-256, Ed25519) or PKCS#1 RSA; it is imported on
 *   first use, so an import failure shows then (logged, 503), not when the validator is made;
 * - there is no file system: a ZITADEL key file must be given parsed.
 */
import { importPKCS8 } from 'jose'
import type { PrivateKeyImport, Runtime } from './contract.js'
import { pkcs1ToPkcs8, pkcs8Algorithm } from './pem.js'
import { hmacSha256, sha256 } from './sha256.js'

const encoder = new TextEncoder()
// `ignoreBOM`: a byte order mark stays in the text (JSON.parse then refuses it), as on Node.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true })

const utf8 = (data: string | Uint8Array): Uint8Array =>
  typeof data === 'string' ? encoder.encode(data) : data

function encodeBase64(bytes: Uint8Array): string {
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  }
  return btoa(binary)
}

const base64url = (bytes: Uint8Array): string =>
  encodeBase64(bytes).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')

/** Lenient base64, read as Node's Buffer reads it (see the contract). */
function decodeBase64(text: string): Uint8Array {
  const padding = text.indexOf('=')
  let digits = (padding === -1 ? text : text.slice(0, padding))
    .replace(/-/g, '+')
    .replace(/_/g, '/')
    .replace(/[^A-Za-z0-9+/]/g, '')
  if (digits.length % 4 === 1) digits = digits.slice(0, -1)
  const binary = atob(digits)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  let difference = 0
  for (let i = 0; i < a.byteLength; i++) difference |= a[i]! ^ b[i]!
  return difference === 0
}

/** Bytes of each EC coordinate by curve (RFC 7518 §6.2.1.2, §6.2.1.3). */
const EC_COORDINATE_BYTES: Readonly<Record<string, number>> = {
  'P-256': 32,
  'P-384': 48,
  'P-521': 66,
}
const BASE64URL = /^[A-Za-z0-9_-]+$/

/**
 * The members Web Crypto needs to import a public JWK (RFC 7518 §6.2.1, §6.3.1; RFC 8037 §2),
 * present and of the right size. Whether an EC point is on its curve is left to the import.
 */
function publicJwkProblem(jwk: Readonly<Record<string, unknown>>): string | undefined {
  const member = (name: string, bytes?: number): string | undefined => {
    const value = jwk[name]
    if (typeof value !== 'string' || !BASE64URL.test(value)) {
      return `"${name}" must be a base64url string`
    }
    if (bytes !== undefined && decodeBase64(value).length !== bytes) {
      return `"${name}" must be ${bytes} bytes for ${String(jwk.crv)}`
    }
    return undefined
  }
  switch (jwk.kty) {
    case 'RSA':
      return member('n') ?? member('e')
    case 'EC': {
      const bytes = EC_COORDINATE_BYTES[jwk.crv as string]
      if (bytes === undefined) return `EC curve ${String(jwk.crv)} is not P-256, P-384 or P-521`
      return member('x', bytes) ?? member('y', bytes)
    }
    case 'OKP':
      return jwk.crv === 'Ed25519' ? member('x', 32) : `OKP curve ${String(jwk.crv)} is not Ed25519`
    default:
      return `key type ${String(jwk.kty)} is not RSA, EC or OKP`
  }
}

/** PKCS#8 (RFC 7468 §10) or OpenSSL's `RSA PRIVATE KEY` (PKCS#1); an encrypted key is neither. */
const PEM = /-----BEGIN (RSA )?PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END \1PRIVATE KEY-----/

function importPrivateKey(pem: string): PrivateKeyImport {
  const match = PEM.exec(pem)
  if (match === null) return { problem: 'format' }
  const der = decodeBase64(match[2]!)
  const pkcs8 = match[1] === undefined ? der : pkcs1ToPkcs8(der)
  const alg = pkcs8 === undefined ? undefined : pkcs8Algorithm(pkcs8)
  if (alg === undefined) return { problem: 'format' }
  if (alg === 'type') return { problem: 'type' }
  const body = encodeBase64(pkcs8!).replace(/.{1,64}/g, '$&\n')
  const key = importPKCS8(`-----BEGIN PRIVATE KEY-----\n${body}-----END PRIVATE KEY-----`, alg)
  // Awaited on first use; until then a failure must not be an unhandled rejection.
  key.catch(() => undefined)
  return { alg, key }
}

export const runtime: Runtime = {
  name: 'web',
  sha256: (data) => base64url(sha256(utf8(data))),
  hmacSha256: (key, data) => base64url(hmacSha256(key, utf8(data))),
  timingSafeEqual,
  decodeBase64,
  decodeBase64Text: (text) => decoder.decode(decodeBase64(text)),
  encodeBase64,
  verifyNatively: () => undefined,
  exportPublicJwk: (key) => crypto.subtle.exportKey('jwk', key),
  publicJwkProblem,
  importPrivateKey,
  readTextFile: undefined,
  send: undefined,
}
