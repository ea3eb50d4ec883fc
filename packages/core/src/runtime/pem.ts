/**
 * PEM private keys for the Web build, where Web Crypto imports PKCS#8 only: which algorithm a
 * PKCS#8 key is for (RFC 5208 §5 `privateKeyAlgorithm`), and a PKCS#1 RSA key (RFC 8017 A.1.2;
 * ZITADEL's key files hold these) wrapped into PKCS#8 unchanged. Only DER structure is read here
 * (ITU-T X.690 §8.1: tag, length, value); the key itself is imported by Web Crypto.
 */
import type { AssertionAlgorithm } from './contract.js'

const SEQUENCE = 0x30
const INTEGER = 0x02
const OCTET_STRING = 0x04
const OBJECT_IDENTIFIER = 0x06

/** Object identifiers as DER content octets (hex). */
const RSA_ENCRYPTION = '2a864886f70d010101' // 1.2.840.113549.1.1.1, RFC 8017 A.1
const EC_PUBLIC_KEY = '2a8648ce3d0201' // 1.2.840.10045.2.1, RFC 5480 §2.1.1
const PRIME256V1 = '2a8648ce3d030107' // 1.2.840.10045.3.1.7 (P-256), RFC 5480 §2.1.1.1
const ED25519 = '2b6570' // 1.3.101.112, RFC 8410 §3

/** One DER element: its tag and where its contents start and end. */
interface Element {
  readonly tag: number
  readonly start: number
  readonly end: number
}

/** The DER element at `at`, within `end`; undefined if it does not fit (definite lengths only). */
function element(der: Uint8Array, at = 0, end = der.length): Element | undefined {
  if (at + 2 > end) return undefined
  const tag = der[at]!
  let length = der[at + 1]!
  let start = at + 2
  if (length & 0x80) {
    const octets = length & 0x7f
    if (octets === 0 || octets > 4 || start + octets > end) return undefined
    length = 0
    for (let i = 0; i < octets; i++) length = length * 256 + der[start++]!
  }
  return start + length <= end ? { tag, start, end: start + length } : undefined
}

/** The elements directly inside a constructed element. */
function children(der: Uint8Array, parent: Element): Element[] | undefined {
  const found: Element[] = []
  for (let at = parent.start; at < parent.end;) {
    const child = element(der, at, parent.end)
    if (child === undefined) return undefined
    found.push(child)
    at = child.end
  }
  return found
}

const hex = (der: Uint8Array, { start, end }: Element): string =>
  Array.from(der.subarray(start, end), (byte) => byte.toString(16).padStart(2, '0')).join('')

/**
 * The JWS algorithm of a PKCS#8 `PrivateKeyInfo` (version, algorithm identifier, key octets):
 * RSA, EC on P-256, or Ed25519; `'type'` for another kind of key, undefined if it is not one.
 */
export function pkcs8Algorithm(der: Uint8Array): AssertionAlgorithm | 'type' | undefined {
  const outer = element(der)
  if (outer?.tag !== SEQUENCE || outer.end !== der.length) return undefined
  const [version, identifier, key] = children(der, outer) ?? []
  if (version?.tag !== INTEGER || identifier?.tag !== SEQUENCE || key?.tag !== OCTET_STRING) {
    return undefined
  }
  const [oid, parameters] = children(der, identifier) ?? []
  if (oid?.tag !== OBJECT_IDENTIFIER) return undefined
  switch (hex(der, oid)) {
    case RSA_ENCRYPTION:
      return 'RS256'
    case EC_PUBLIC_KEY:
      return parameters?.tag === OBJECT_IDENTIFIER && hex(der, parameters) === PRIME256V1
        ? 'ES256'
        : 'type'
    case ED25519:
      return 'EdDSA'
    default:
      return 'type'
  }
}

function encodeLength(length: number): number[] {
  if (length < 0x80) return [length]
  const octets: number[] = []
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) octets.unshift(rest % 256)
  return [0x80 | octets.length, ...octets]
}

function encode(tag: number, ...contents: (Uint8Array | readonly number[])[]): Uint8Array {
  const length = contents.reduce((sum, part) => sum + part.length, 0)
  const head = [tag, ...encodeLength(length)]
  const out = new Uint8Array(head.length + length)
  out.set(head)
  let at = head.length
  for (const part of contents) {
    out.set(part, at)
    at += part.length
  }
  return out
}

const fromHex = (text: string): number[] =>
  Array.from({ length: text.length / 2 }, (_, i) => parseInt(text.slice(2 * i, 2 * i + 2), 16))

/**
 * A PKCS#1 `RSAPrivateKey` as the PKCS#8 `PrivateKeyInfo` holding it (RFC 5208 §5: version 0,
 * rsaEncryption with NULL parameters, RFC 8017 A.1), or undefined if it is not one DER sequence.
 */
export function pkcs1ToPkcs8(der: Uint8Array): Uint8Array | undefined {
  const outer = element(der)
  if (outer?.tag !== SEQUENCE || outer.end !== der.length) return undefined
  const algorithm = encode(SEQUENCE, encode(OBJECT_IDENTIFIER, fromHex(RSA_ENCRYPTION)), [0x05, 0])
  return encode(SEQUENCE, [INTEGER, 1, 0], algorithm, encode(OCTET_STRING, der))
}
