// The attack corpus. Every case names the exact `code` and `status` the
// validator must answer (the README's error table; each section cites its RFC) and runs twice:
// against a static key set, and against a remote JWKS on a local fault server (so header
// parameters such as jku/x5u have a validator that *could* fetch something, and must not).
// A differential test then runs every corpus token that reaches signature checking through both
// signature paths of packages/core/src/signature.ts.
import { createHash, sign as nodeSign } from 'node:crypto'
import { createLocalJWKSet, type JWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createValidator,
  toHttpResponse,
  type TokenwardErrorCode,
  type Validator,
} from '@tokenward/core'
import { verifySignature, verifyWithJose } from '../../packages/core/src/signature.js'
import { TokenClassifier } from '../../packages/core/src/token.js'
import {
  startFaultServer,
  type FaultServer,
} from '../../packages/core/test/support/fault-server.js'
import { settledHeapUsed } from '../support/gc.js'
import { certificatePem, selfSignedCertificate } from '../../packages/core/test/support/x509.js'
import {
  AUDIENCE,
  ISSUER,
  b64url,
  ecPair,
  edPair,
  goodClaims,
  hmacSigner,
  jws,
  nowSeconds,
  outcome,
  publicJwk,
  rsaPair,
  segment,
  signerFor,
  verdictOf,
  withSignature,
} from './fixtures.js'

// ---------------------------------------------------------------------------------------------
// Keys: the issuer's (trusted) and an attacker's.

const rsa = rsaPair()
const ec = ecPair()
const ed = edPair()
const attacker = rsaPair()
const attackerEc = ecPair()

const RSA_JWK = publicJwk(rsa, 'rsa-1', 'RS256')
const EC_JWK = publicJwk(ec, 'ec-1', 'ES256')
const ED_JWK = publicJwk(ed, 'ed-1', 'EdDSA')
const TRUSTED_JWKS: JWK[] = [RSA_JWK, EC_JWK, ED_JWK]
const ATTACKER_JWK = publicJwk(attacker, 'attacker-1', 'RS256')
const ATTACKER_EC_JWK = publicJwk(attackerEc, 'attacker-ec', 'ES256')
const ATTACKER_CERT = selfSignedCertificate(attacker.publicKey, attacker.privateKey)

const RS = signerFor('RS256', rsa.privateKey)
const PS = signerFor('PS256', rsa.privateKey)
const ES = signerFor('ES256', ec.privateKey)
const ED = signerFor('EdDSA', ed.privateKey)
const EVIL = signerFor('RS256', attacker.privateKey)
const EVIL_ES = signerFor('ES256', attackerEc.privateKey)

const H_RS = { alg: 'RS256', kid: 'rsa-1', typ: 'JWT' }
const H_ES = { alg: 'ES256', kid: 'ec-1', typ: 'JWT' }
const H_ED = { alg: 'EdDSA', kid: 'ed-1', typ: 'JWT' }

const RSA_PEM = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString()
const RSA_PKCS1_PEM = rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString()
const RSA_JWK_JSON = JSON.stringify(RSA_JWK)

// SEC 2: order of the P-256 group. r or s equal to 0 or n is out of range ("psychic signatures").
const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551')
// RFC 8032: order of the Ed25519 group; S >= L is a non-canonical (malleable) signature.
const ED25519_L = 2n ** 252n + 27742317777372353535851937790883648493n

const DEFAULT_MAX = 16_384
const LARGE_MAX = 1_048_576

function be32(value: bigint): Buffer {
  return Buffer.from(value.toString(16).padStart(64, '0'), 'hex')
}
function le32(value: bigint): Buffer {
  return Buffer.from(value.toString(16).padStart(64, '0'), 'hex').reverse()
}

/** A flat (not a rope) string of `size` bytes, so measuring it measures the validator. */
function flatString(size: number, fill = 'A'): string {
  return Buffer.alloc(size, fill).toString('latin1')
}

/** The deepest `make(depth)` whose length stays within `cap` (bounded search). */
function deepestFitting(cap: number, make: (depth: number) => string): string {
  let depth = Math.floor((cap * 3) / 8)
  for (let attempt = 0; attempt < 50; attempt++) {
    const token = make(depth)
    if (token.length <= cap) return token
    depth -= Math.ceil(((token.length - cap) * 3) / 8) + 1
  }
  throw new Error('no depth fits under the cap')
}

const nestedArray = (depth: number, inner = '1'): string =>
  `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`

/** JSON text of good claims with one member replaced by raw JSON text. */
function claimsWithRaw(name: string, raw: string, extra: Record<string, unknown> = {}): string {
  const claims: Record<string, unknown> = { ...goodClaims(extra) }
  delete claims[name]
  return `${JSON.stringify(claims).slice(0, -1)},"${name}":${raw}}`
}

/** The base64url segment rewritten in the standard alphabet (`+` and `/`). */
function standardAlphabet(value: string): string {
  return value.replace(/-/g, '+').replace(/_/g, '/')
}

/** A token whose chosen segment holds `-` or `_`, so the standard alphabet really differs. */
function inStandardAlphabet(part: 0 | 1 | 2): string {
  for (let filler = 0; filler < 64; filler++) {
    const x = `??>>${'?'.repeat(filler)}`
    const token = jws({ ...H_RS, x }, goodClaims({ x, jti: `j${filler}` }), RS)
    const parts = token.split('.')
    const changed = standardAlphabet(parts[part]!)
    if (changed !== parts[part]) {
      parts[part] = changed
      return parts.join('.')
    }
  }
  throw new Error('no filler produced - or _')
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** Sets the low (discarded) bit of a segment's last character: same bytes, another string. */
function nonCanonical(value: string): string {
  if (value.length % 4 === 0) throw new Error('this segment has no discarded bits')
  const last = ALPHABET.indexOf(value.at(-1)!)
  return value.slice(0, -1) + ALPHABET[last ^ 1]!
}

/** A token whose payload segment length is not a multiple of 4 (it has discarded bits). */
function withDiscardedPayloadBits(): string {
  for (let pad = 0; pad < 4; pad++) {
    const token = jws(H_RS, goodClaims({ p: 'x'.repeat(pad) }), RS)
    if (token.split('.')[1]!.length % 4 !== 0) return token
  }
  throw new Error('unreachable: some padding leaves discarded bits')
}

// ---------------------------------------------------------------------------------------------
// The corpus

interface Context {
  readonly faults: FaultServer
}

type Expected = 'valid' | { readonly code: TokenwardErrorCode; readonly status: number }

interface Attack {
  readonly group: string
  readonly name: string
  /** `validate(token)`, or `authenticate(header)` where the case is about the header. */
  readonly call: 'validate' | 'authenticate'
  readonly input: (context: Context) => string | readonly string[] | undefined
  readonly expected: Expected
  /** `large`: maxTokenLength 1 MiB (the largest the options allow). */
  readonly config?: 'large'
}

const r400 = (code: TokenwardErrorCode): Expected => ({ code, status: 400 })
const r401 = (code: TokenwardErrorCode): Expected => ({ code, status: 401 })

const corpus: Attack[] = []

function add(
  group: string,
  name: string,
  token: (context: Context) => string,
  expected: Expected,
  extra: Partial<Pick<Attack, 'config'>> = {},
): void {
  corpus.push({ group, name, call: 'validate', input: token, expected, ...extra })
}

function addHeader(
  group: string,
  name: string,
  header: (context: Context) => string | readonly string[] | undefined,
  expected: Expected,
): void {
  corpus.push({ group, name, call: 'authenticate', input: header, expected })
}

// Controls: the harness accepts what it must, or every rejection below proves nothing.
add('control', 'RS256 signed by the trusted key', () => jws(H_RS, goodClaims(), RS), 'valid')
add('control', 'ES256 signed by the trusted key', () => jws(H_ES, goodClaims(), ES), 'valid')
add('control', 'EdDSA signed by the trusted key', () => jws(H_ED, goodClaims(), ED), 'valid')
add(
  'control',
  'RS256 without kid (one RSA key)',
  () => jws({ alg: 'RS256' }, goodClaims(), RS),
  'valid',
)

// alg none in any spelling, with and without a signature (RFC 8725 §2.1, §3.1; RFC 9068 §4).
for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
  add(
    'alg none',
    `"${alg}", empty signature`,
    () => jws({ alg, typ: 'JWT' }, goodClaims()),
    r401('alg_not_allowed'),
  )
  add(
    'alg none',
    `"${alg}", with the trusted key's signature`,
    () => jws({ alg, kid: 'rsa-1' }, goodClaims(), RS),
    r401('alg_not_allowed'),
  )
}
add(
  'alg none',
  '"none" with a junk signature',
  () => withSignature(jws({ alg: 'none' }, goodClaims()), 'c2ln'),
  r401('alg_not_allowed'),
)

// HMAC keyed with the public key, the classic RS/HS confusion (RFC 8725 §2.1, §3.1).
for (const alg of ['HS256', 'HS384', 'HS512']) {
  add(
    'alg confusion',
    `${alg} keyed with the RSA public key PEM`,
    () => jws({ alg, kid: 'rsa-1' }, goodClaims(), hmacSigner(alg, RSA_PEM)),
    r401('alg_not_allowed'),
  )
  add(
    'alg confusion',
    `${alg} keyed with the RSA public JWK JSON`,
    () => jws({ alg, kid: 'rsa-1' }, goodClaims(), hmacSigner(alg, RSA_JWK_JSON)),
    r401('alg_not_allowed'),
  )
}
add(
  'alg confusion',
  'HS256 keyed with the PKCS#1 PEM, no kid',
  () => jws({ alg: 'HS256' }, goodClaims(), hmacSigner('HS256', RSA_PKCS1_PEM)),
  r401('alg_not_allowed'),
)
// A key is used with its own algorithm only (RFC 8725 §3.1: "Each key MUST be used with exactly
// one algorithm").
add(
  'alg confusion',
  'RS256 header naming the EC key',
  () => jws({ alg: 'RS256', kid: 'ec-1' }, goodClaims(), RS),
  r401('unknown_key'),
)
add(
  'alg confusion',
  'ES256 header naming the RSA key',
  () => jws({ alg: 'ES256', kid: 'rsa-1' }, goodClaims(), ES),
  r401('unknown_key'),
)
add(
  'alg confusion',
  'EdDSA header naming the RSA key',
  () => jws({ alg: 'EdDSA', kid: 'rsa-1' }, goodClaims(), ED),
  r401('unknown_key'),
)
add(
  'alg confusion',
  'PS256 signed by the RSA key published for RS256',
  () => jws({ alg: 'PS256', kid: 'rsa-1' }, goodClaims(), PS),
  r401('unknown_key'),
)
add(
  'alg confusion',
  'ES384 header naming the P-256 key',
  () => jws({ alg: 'ES384', kid: 'ec-1' }, goodClaims(), ES),
  r401('unknown_key'),
)
add(
  'alg confusion',
  '"rs256" (lower case)',
  () => jws({ alg: 'rs256', kid: 'rsa-1' }, goodClaims(), RS),
  r401('alg_not_allowed'),
)
add(
  'alg confusion',
  '"Ed25519" (fully specified alg, not configured)',
  () => jws({ alg: 'Ed25519', kid: 'ed-1' }, goodClaims(), ED),
  r401('alg_not_allowed'),
)
add(
  'alg confusion',
  '"ES256K"',
  () => jws({ alg: 'ES256K', kid: 'ec-1' }, goodClaims(), ES),
  r401('alg_not_allowed'),
)
add(
  'alg confusion',
  'empty alg',
  () => jws({ alg: '', kid: 'rsa-1' }, goodClaims(), RS),
  r401('alg_not_allowed'),
)
add(
  'alg confusion',
  'alg missing',
  () => jws({ kid: 'rsa-1' }, goodClaims(), RS),
  r401('malformed_token'),
)
add(
  'alg confusion',
  'alg a number',
  () => jws({ alg: 256, kid: 'rsa-1' }, goodClaims(), RS),
  r401('malformed_token'),
)
add(
  'alg confusion',
  'alg an array',
  () => jws({ alg: ['RS256'], kid: 'rsa-1' }, goodClaims(), RS),
  r401('malformed_token'),
)
add(
  'alg confusion',
  'alg null',
  () => jws({ alg: null, kid: 'rsa-1' }, goodClaims(), RS),
  r401('malformed_token'),
)

// Keys named or embedded in the header are never used or fetched (RFC 8725 §3.10).
const jwkHeader = (kid?: string) => ({
  alg: 'RS256',
  ...(kid === undefined ? {} : { kid }),
  jwk: ATTACKER_JWK,
})
add(
  'header keys',
  'jwk: attacker key embedded, trusted kid',
  () => jws(jwkHeader('rsa-1'), goodClaims(), EVIL),
  r401('invalid_signature'),
)
add(
  'header keys',
  'jwk: attacker key embedded, no kid',
  () => jws(jwkHeader(), goodClaims(), EVIL),
  r401('invalid_signature'),
)
add(
  'header keys',
  'jwk: attacker key embedded, attacker kid',
  () => jws(jwkHeader('attacker-1'), goodClaims(), EVIL),
  r401('unknown_key'),
)
add(
  'header keys',
  'jwk: attacker EC key embedded, trusted EC kid',
  () => jws({ alg: 'ES256', kid: 'ec-1', jwk: ATTACKER_EC_JWK }, goodClaims(), EVIL_ES),
  r401('invalid_signature'),
)
add(
  'header keys',
  'jku: attacker JWKS URL, trusted kid',
  ({ faults }) => jws({ alg: 'RS256', kid: 'rsa-1', jku: `${faults.url}/jku` }, goodClaims(), EVIL),
  r401('invalid_signature'),
)
add(
  'header keys',
  'jku: attacker JWKS URL, attacker kid',
  ({ faults }) =>
    jws({ alg: 'RS256', kid: 'attacker-1', jku: `${faults.url}/jku` }, goodClaims(), EVIL),
  r401('unknown_key'),
)
add(
  'header keys',
  'jku: attacker JWKS URL, no kid',
  ({ faults }) => jws({ alg: 'RS256', jku: `${faults.url}/jku` }, goodClaims(), EVIL),
  r401('invalid_signature'),
)
add(
  'header keys',
  'x5u: attacker certificate URL, trusted kid',
  ({ faults }) => jws({ alg: 'RS256', kid: 'rsa-1', x5u: `${faults.url}/x5u` }, goodClaims(), EVIL),
  r401('invalid_signature'),
)
add(
  'header keys',
  'x5u: attacker certificate URL, no kid',
  ({ faults }) => jws({ alg: 'RS256', x5u: `${faults.url}/x5u` }, goodClaims(), EVIL),
  r401('invalid_signature'),
)
add(
  'header keys',
  'x5c: self-signed attacker certificate, trusted kid',
  () =>
    jws(
      { alg: 'RS256', kid: 'rsa-1', x5c: [ATTACKER_CERT.toString('base64')] },
      goodClaims(),
      EVIL,
    ),
  r401('invalid_signature'),
)
add(
  'header keys',
  'x5c: self-signed attacker certificate, no kid',
  () => jws({ alg: 'RS256', x5c: [ATTACKER_CERT.toString('base64')] }, goodClaims(), EVIL),
  r401('invalid_signature'),
)
add(
  'header keys',
  'x5c + x5t#S256 of the attacker certificate, no kid',
  () =>
    jws(
      {
        alg: 'RS256',
        x5c: [ATTACKER_CERT.toString('base64')],
        'x5t#S256': createHash('sha256').update(ATTACKER_CERT).digest('base64url'),
      },
      goodClaims(),
      EVIL,
    ),
  r401('invalid_signature'),
)
add(
  'header keys',
  'jwk + jku + x5u + x5c at once, trusted kid',
  ({ faults }) =>
    jws(
      {
        alg: 'RS256',
        kid: 'rsa-1',
        jwk: ATTACKER_JWK,
        jku: `${faults.url}/jku`,
        x5u: `${faults.url}/x5u`,
        x5c: [ATTACKER_CERT.toString('base64')],
      },
      goodClaims(),
      EVIL,
    ),
  r401('invalid_signature'),
)

// kid is an opaque string for exact lookup only (RFC 7515 §4.1.4, RFC 8725 §3.10).
const kidToken = (kid: unknown, signer = RS) => jws({ alg: 'RS256', kid }, goodClaims(), signer)
add(
  'kid',
  'path traversal ../../etc/passwd',
  () => kidToken('../../etc/passwd'),
  r401('unknown_key'),
)
add(
  'kid',
  'path traversal to /dev/null, attacker-signed',
  () => kidToken('../../../../../../dev/null', EVIL),
  r401('unknown_key'),
)
add('kid', 'a file: URL', () => kidToken('file:///etc/passwd'), r401('unknown_key'))
add(
  'kid',
  'an http URL on the attacker server',
  ({ faults }) => kidToken(`${faults.url}/kid`),
  r401('unknown_key'),
)
add('kid', '10 KB long', () => kidToken('k'.repeat(10 * 1024)), r401('unknown_key'))
add('kid', 'trusted kid + NUL', () => kidToken('rsa-1\u0000'), r401('unknown_key'))
add('kid', 'NUL alone', () => kidToken('\u0000'), r401('unknown_key'))
add('kid', 'unicode look-alike (U+2010 hyphen)', () => kidToken('rsa\u20101'), r401('unknown_key'))
add('kid', 'full-width letters', () => kidToken('\uff52\uff53\uff41-1'), r401('unknown_key'))
add('kid', 'trusted kid + double quote', () => kidToken('rsa-1"'), r401('unknown_key'))
add('kid', 'a lone double quote', () => kidToken('"'), r401('unknown_key'))
add('kid', 'other case', () => kidToken('RSA-1'), r401('unknown_key'))
add('kid', 'leading space', () => kidToken(' rsa-1'), r401('unknown_key'))
add('kid', 'empty string', () => kidToken(''), r401('unknown_key'))
add('kid', "SQL-ish ' OR '1'='1", () => kidToken("' OR '1'='1"), r401('unknown_key'))
add('kid', 'a number', () => kidToken(1), r401('unknown_key'))
add('kid', 'an object', () => kidToken({ kid: 'rsa-1' }), r401('unknown_key'))
add('kid', 'null', () => kidToken(null), r401('unknown_key'))
add('kid', 'an array holding the trusted kid', () => kidToken(['rsa-1']), r401('unknown_key'))
add('kid', 'true', () => kidToken(true), r401('unknown_key'))

// No extension is understood, so every crit is refused (RFC 7515 §4.1.11).
add(
  'crit',
  'unknown crit member',
  () => jws({ ...H_RS, crit: ['x-custom'], 'x-custom': 1 }, goodClaims(), RS),
  r401('malformed_token'),
)
add(
  'crit',
  'crit naming a registered claim',
  () => jws({ ...H_RS, crit: ['exp'] }, goodClaims(), RS),
  r401('malformed_token'),
)
add(
  'crit',
  'empty crit list',
  () => jws({ ...H_RS, crit: [] }, goodClaims(), RS),
  r401('malformed_token'),
)
add(
  'crit',
  'crit a string',
  () => jws({ ...H_RS, crit: 'b64' }, goodClaims(), RS),
  r401('malformed_token'),
)
add(
  'crit',
  'b64: false with crit ["b64"]',
  () => jws({ ...H_RS, b64: false, crit: ['b64'] }, goodClaims(), RS),
  r401('malformed_token'),
)
add(
  'crit',
  'b64: false without crit',
  () => jws({ ...H_RS, b64: false }, goodClaims(), RS),
  r401('malformed_token'),
)

// ECDSA and EdDSA signatures out of range or re-encoded (RFC 7518 §3.4: R || S, fixed length;
// RFC 8032 §5.1.7: 0 ≤ S < L).
const ecToken = () => jws(H_ES, goodClaims(), ES)
const ecRs = (r: bigint, s: bigint) => withSignature(ecToken(), Buffer.concat([be32(r), be32(s)]))
add('signature values', 'ES256 r = s = 0', () => ecRs(0n, 0n), r401('invalid_signature'))
add('signature values', 'ES256 r = 0, s = 1', () => ecRs(0n, 1n), r401('invalid_signature'))
add('signature values', 'ES256 r = n, s = 1', () => ecRs(P256_N, 1n), r401('invalid_signature'))
add('signature values', 'ES256 r = s = n', () => ecRs(P256_N, P256_N), r401('invalid_signature'))
add(
  'signature values',
  'ES256 r = s = 0, no kid',
  () => withSignature(jws({ alg: 'ES256' }, goodClaims(), ES), Buffer.alloc(64)),
  r401('invalid_signature'),
)
add(
  'signature values',
  'ES256 DER-encoded instead of r || s',
  () => {
    const token = ecToken()
    const input = Buffer.from(token.slice(0, token.lastIndexOf('.')), 'ascii')
    return withSignature(token, nodeSign('sha256', input, ec.privateKey)) // DER, node's default
  },
  r401('invalid_signature'),
)
add(
  'signature values',
  'ES256 signature 63 bytes',
  () => {
    const t = ecToken()
    return withSignature(t, Buffer.from(t.split('.')[2]!, 'base64url').subarray(1))
  },
  r401('invalid_signature'),
)
add(
  'signature values',
  'ES256 signature 65 bytes',
  () => {
    const t = ecToken()
    return withSignature(
      t,
      Buffer.concat([Buffer.from(t.split('.')[2]!, 'base64url'), Buffer.from([0])]),
    )
  },
  r401('invalid_signature'),
)
// ECDSA is malleable: (r, n - s) verifies too. Both paths accept it; RFC 7518 asks for no low-S.
add(
  'signature values',
  'ES256 high-S twin (r, n - s) of a valid signature',
  () => {
    const token = ecToken()
    const sig = Buffer.from(token.split('.')[2]!, 'base64url')
    const r = BigInt(`0x${sig.subarray(0, 32).toString('hex')}`)
    const s = BigInt(`0x${sig.subarray(32).toString('hex')}`)
    return withSignature(token, Buffer.concat([be32(r), be32(P256_N - s)]))
  },
  'valid',
)
add(
  'signature values',
  'EdDSA all-zero signature',
  () => withSignature(jws(H_ED, goodClaims(), ED), Buffer.alloc(64)),
  r401('invalid_signature'),
)
add(
  'signature values',
  'EdDSA non-canonical S + L',
  () => {
    const token = jws(H_ED, goodClaims(), ED)
    const sig = Buffer.from(token.split('.')[2]!, 'base64url')
    const s = BigInt(`0x${Buffer.from(sig.subarray(32)).reverse().toString('hex')}`)
    return withSignature(token, Buffer.concat([sig.subarray(0, 32), le32(s + ED25519_L)]))
  },
  r401('invalid_signature'),
)
add(
  'signature values',
  'RS256 all-zero signature',
  () => withSignature(jws(H_RS, goodClaims(), RS), Buffer.alloc(256)),
  r401('invalid_signature'),
)
add(
  'signature values',
  'RS256 signature of another payload',
  () => {
    const other = jws(H_RS, goodClaims({ sub: 'admin' }), RS)
    return withSignature(jws(H_RS, goodClaims(), RS), other.split('.')[2]!)
  },
  r401('invalid_signature'),
)

// Exactly three base64url segments (RFC 7515 §7.1).
const validToken = () => jws(H_RS, goodClaims(), RS)
const parts = () => validToken().split('.') as [string, string, string]
add('segments', 'a.b', () => 'a.b', r401('malformed_token'))
add('segments', 'a.b.c.d', () => 'a.b.c.d', r401('malformed_token'))
add('segments', '..', () => '..', r401('malformed_token'))
add('segments', 'a..c', () => 'a..c', r401('malformed_token'))
add(
  'segments',
  'empty header',
  () => {
    const [, p, s] = parts()
    return `.${p}.${s}`
  },
  r401('malformed_token'),
)
add(
  'segments',
  'empty payload',
  () => {
    const [h, , s] = parts()
    return `${h}..${s}`
  },
  r401('malformed_token'),
)
add(
  'segments',
  'empty signature',
  () => {
    const [h, p] = parts()
    return `${h}.${p}.`
  },
  r401('invalid_signature'),
)
add(
  'segments',
  'header and payload only',
  () => {
    const [h, p] = parts()
    return `${h}.${p}`
  },
  r401('malformed_token'),
)
add('segments', 'valid token + trailing dot', () => `${validToken()}.`, r401('malformed_token'))
add(
  'segments',
  'valid token + a fourth segment',
  () => `${validToken()}.${b64url('x')}`,
  r401('malformed_token'),
)
add('segments', 'empty string', () => '', r401('malformed_token'))
add('segments', 'a single dot', () => '.', r401('malformed_token'))
add('segments', 'four dots (five empty segments)', () => '....', r401('malformed_token'))
add('segments', 'six segments', () => 'a.b.c.d.e.f', r401('malformed_token'))

// The base64url alphabet, no padding, no stray characters (RFC 7515 §2).
add(
  'base64url',
  "'=' padding on the header",
  () => {
    const [h, p, s] = parts()
    return `${h}=.${p}.${s}`
  },
  r401('malformed_token'),
)
add(
  'base64url',
  "'=' padding on the payload",
  () => {
    const [h, p, s] = parts()
    return `${h}.${p}==.${s}`
  },
  r401('malformed_token'),
)
add('base64url', "'=' padding on the signature", () => `${validToken()}==`, r401('malformed_token'))
add(
  'base64url',
  "header in the standard alphabet ('+', '/')",
  () => inStandardAlphabet(0),
  r401('malformed_token'),
)
add(
  'base64url',
  "payload in the standard alphabet ('+', '/')",
  () => inStandardAlphabet(1),
  r401('malformed_token'),
)
add(
  'base64url',
  "signature in the standard alphabet ('+', '/')",
  () => inStandardAlphabet(2),
  r401('malformed_token'),
)
add(
  'base64url',
  'header of length 4n+1 (a stray character)',
  () => {
    const [h, p, s] = parts()
    const stray = 'A'.repeat((((1 - h.length) % 4) + 4) % 4 || 4)
    return `${h}${stray}.${p}.${s}`
  },
  r401('malformed_token'),
)
add(
  'base64url',
  "'~' inside a segment (as in the RFC 9449 §7.1 example token)",
  () => {
    const [h, p, s] = parts()
    return `${h}.${p}~.${s}`
  },
  r401('malformed_token'),
)
add(
  'base64url',
  'a space inside a segment',
  () => {
    const [h, p, s] = parts()
    return `${h}.${p} .${s}`
  },
  r401('malformed_token'),
)
add('base64url', 'a trailing newline', () => `${validToken()}\n`, r401('malformed_token'))
add(
  'base64url',
  'percent-encoded dot',
  () => {
    const [h, p, s] = parts()
    return `${h}%2E${p}.${s}`
  },
  r401('malformed_token'),
)
add(
  'base64url',
  'payload re-encoded non-canonically (same bytes)',
  () => {
    const [h, p, s] = withDiscardedPayloadBits().split('.') as [string, string, string]
    return `${h}.${nonCanonical(p)}.${s}`
  },
  r401('invalid_signature'),
)
// A respelled JWS is still a JWS: refused locally, never handed to introspection as opaque.
add(
  'base64url',
  'base64 padding after the signature',
  () => `${validToken()}=`,
  r401('malformed_token'),
)
add(
  'base64url',
  'every segment padded',
  () =>
    validToken()
      .split('.')
      .map((part) => `${part}==`)
      .join('.'),
  r401('malformed_token'),
)
// The signature's discarded bits are covered by nothing, so a non-canonical spelling would be a
// second spelling of one signature (past invalidate() and deny-lists keyed on the string):
// refused before any key is looked up (RFC 4648 §3.5).
add(
  'base64url',
  'signature re-encoded non-canonically (same bytes)',
  () => {
    const [h, p, s] = parts()
    return `${h}.${p}.${nonCanonical(s)}`
  },
  r401('malformed_token'),
)

// Duplicate members: last wins, as in jose and as RFC 7519 §4 allows ("lexically last"); the
// signature path reads the same header.
const rawClaims = (members: string) => {
  const now = nowSeconds()
  return `{"iss":"${ISSUER}","sub":"u","exp":${now + 600},${members}}`
}
add(
  'duplicate keys',
  'header alg "none" then "RS256" (last wins)',
  () => jws(`{"alg":"none","alg":"RS256","kid":"rsa-1"}`, goodClaims(), RS),
  'valid',
)
add(
  'duplicate keys',
  'header alg "RS256" then "none"',
  () => jws(`{"alg":"RS256","kid":"rsa-1","alg":"none"}`, goodClaims(), RS),
  r401('alg_not_allowed'),
)
add(
  'duplicate keys',
  'header kid trusted then attacker',
  () => jws(`{"alg":"RS256","kid":"rsa-1","kid":"attacker-1"}`, goodClaims(), RS),
  r401('unknown_key'),
)
add(
  'duplicate keys',
  'payload aud trusted then foreign',
  () => jws(H_RS, rawClaims(`"aud":"${AUDIENCE}","aud":"https://evil.example"`), RS),
  r401('invalid_audience'),
)
add(
  'duplicate keys',
  'payload aud foreign then trusted',
  () => jws(H_RS, rawClaims(`"aud":"https://evil.example","aud":"${AUDIENCE}"`), RS),
  'valid',
)
add(
  'duplicate keys',
  'payload exp future then past',
  () =>
    jws(
      H_RS,
      `{"iss":"${ISSUER}","aud":"${AUDIENCE}","exp":${nowSeconds() + 600},"exp":${nowSeconds() - 600}}`,
      RS,
    ),
  r401('token_expired'),
)
add(
  'duplicate keys',
  'payload iss trusted then foreign',
  () =>
    jws(
      H_RS,
      `{"iss":"${ISSUER}","iss":"https://evil.example","aud":"${AUDIENCE}","exp":${nowSeconds() + 600}}`,
      RS,
    ),
  r401('invalid_issuer'),
)
add(
  'duplicate keys',
  'payload "__proto__" carrying iss (no prototype games)',
  () =>
    jws(
      H_RS,
      `{"__proto__":{"iss":"${ISSUER}"},"aud":"${AUDIENCE}","exp":${nowSeconds() + 600}}`,
      RS,
    ),
  r401('invalid_issuer'),
)

// Deep nesting: JSON.parse copes; whatever walks the value afterwards must too.
add(
  'nesting',
  'header: 10,000 levels of [',
  () => `${b64url('['.repeat(10_000))}.${segment(goodClaims())}.c2ln`,
  r401('malformed_token'),
)
add(
  'nesting',
  'payload: 10,000 levels of [',
  () => jws(H_RS, '['.repeat(10_000), RS),
  r401('malformed_token'),
)
add(
  'nesting',
  'payload: a balanced array as deep as the cap allows',
  () => deepestFitting(DEFAULT_MAX, (d) => jws(H_ES, nestedArray(d), ES)),
  r401('malformed_token'),
)
add(
  'nesting',
  'aud: an array as deep as the cap allows',
  () =>
    deepestFitting(DEFAULT_MAX, (d) =>
      jws(H_ES, claimsWithRaw('aud', nestedArray(d, `"${AUDIENCE}"`)), ES),
    ),
  r401('invalid_audience'),
)
add(
  'nesting',
  'a custom claim 3,000 levels deep, signed by the trusted key',
  () => jws(H_ES, claimsWithRaw('x', nestedArray(3_000)), ES),
  'valid',
)
add(
  'nesting',
  'iss: an array as deep as the cap allows (unsigned)',
  () =>
    deepestFitting(DEFAULT_MAX, (d) => jws(H_ES, claimsWithRaw('iss', nestedArray(d)), EVIL_ES)),
  r401('invalid_issuer'),
  // Was a bug: describeValue stringified the nested iss and overflowed the stack (a 500).
)
add(
  'nesting',
  'iss: 10,000 levels (maxTokenLength 1 MiB)',
  () => jws(H_ES, claimsWithRaw('iss', nestedArray(10_000)), EVIL_ES),
  r401('invalid_issuer'),
  { config: 'large' },
)
add(
  'nesting',
  'aud: 10,000 levels (maxTokenLength 1 MiB)',
  () => jws(H_ES, claimsWithRaw('aud', nestedArray(10_000, `"${AUDIENCE}"`)), EVIL_ES),
  r401('invalid_audience'),
  { config: 'large' },
)
add(
  'nesting',
  'payload: 10,000 balanced levels (maxTokenLength 1 MiB)',
  () => jws(H_ES, nestedArray(10_000), ES),
  r401('malformed_token'),
  { config: 'large' },
)
// deepFreeze's depth limit moves with the JIT (about 6,000 levels cold, over 10,000 once warm),
// so this case goes far past it to fail the same way every run.
add(
  'nesting',
  'a custom claim 100,000 levels deep, signed by the trusted key (maxTokenLength 1 MiB)',
  () => jws(H_ES, claimsWithRaw('x', nestedArray(100_000)), ES),
  'valid',
  // Was a bug: buildResult's deepFreeze recursed once per level (a 500 for a signed token).
  { config: 'large' },
)
add(
  'nesting',
  'a custom claim 10,000 levels deep, unsigned (maxTokenLength 1 MiB)',
  () => jws(H_ES, claimsWithRaw('x', nestedArray(10_000)), EVIL_ES),
  r401('invalid_signature'),
  { config: 'large' },
)

// The payload is a JSON object (RFC 7519 §7.2).
for (const [label, raw] of [
  ['an array', JSON.stringify([goodClaims()])],
  ['a string', '"claims"'],
  ['a number', '42'],
  ['null', 'null'],
  ['true', 'true'],
  ['not JSON', 'hello'],
  ['JSON with trailing garbage', `${JSON.stringify(goodClaims())}x`],
] as const) {
  add('payload type', `payload is ${label}`, () => jws(H_RS, raw, RS), r401('malformed_token'))
}
add(
  'payload type',
  'payload is invalid UTF-8',
  () => jws(H_RS, Buffer.from([0xff, 0xfe, 0x7b, 0x7d]), RS),
  r401('malformed_token'),
)
add(
  'payload type',
  'header is a JSON array',
  () => jws('["RS256"]', goodClaims(), RS),
  r401('malformed_token'),
)
add(
  'payload type',
  'header is a JSON string',
  () => jws('"RS256"', goodClaims(), RS),
  r401('malformed_token'),
)

// exp, nbf and iat are NumericDates (RFC 7519 §2, §4.1.4–4.1.6).
const timeCase = (claim: string, raw: string) => () => jws(H_RS, claimsWithRaw(claim, raw), RS)
const future = () => String(nowSeconds() + 600)
const past = () => String(nowSeconds() - 600)
for (const claim of ['exp', 'nbf', 'iat']) {
  add(
    'time claims',
    `${claim} as a string`,
    () => timeCase(claim, `"${claim === 'exp' ? future() : past()}"`)(),
    r401('malformed_token'),
  )
  add(
    'time claims',
    `${claim} as the string "NaN"`,
    timeCase(claim, '"NaN"'),
    r401('malformed_token'),
  )
  add(
    'time claims',
    `${claim} = 1e309 (Infinity)`,
    timeCase(claim, '1e309'),
    r401('malformed_token'),
  )
  add(
    'time claims',
    `${claim} = -1e309 (-Infinity)`,
    timeCase(claim, '-1e309'),
    r401('malformed_token'),
  )
  add('time claims', `${claim} negative`, timeCase(claim, '-1'), r401('malformed_token'))
  add('time claims', `${claim} null`, timeCase(claim, 'null'), r401('malformed_token'))
  add('time claims', `${claim} a boolean`, timeCase(claim, 'true'), r401('malformed_token'))
  add(
    'time claims',
    `${claim} an array`,
    () => timeCase(claim, `[${claim === 'exp' ? future() : past()}]`)(),
    r401('malformed_token'),
  )
  add(
    'time claims',
    `${claim} a float`,
    () => timeCase(claim, `${claim === 'exp' ? future() : past()}.5`)(),
    'valid',
  )
}
add(
  'time claims',
  'exp missing',
  () => jws(H_RS, { ...goodClaims(), exp: undefined }, RS),
  r401('malformed_token'),
)
add('time claims', 'exp = 0', timeCase('exp', '0'), r401('token_expired'))
// Past the latest date JavaScript can represent (8.64e12 s): not a usable NumericDate.
add('time claims', 'exp huge (1e20)', timeCase('exp', '1e20'), r401('malformed_token'))
add('time claims', 'nbf huge (1e20)', timeCase('nbf', '1e20'), r401('malformed_token'))
add('time claims', 'iat huge (1e20)', timeCase('iat', '1e20'), r401('malformed_token'))
add('time claims', 'exp in the past', () => timeCase('exp', past())(), r401('token_expired'))

// aud is a string or a non-empty list of strings (RFC 7519 §4.1.3).
for (const [label, raw] of [
  ['a number', '42'],
  ['a list with a number', '[42]'],
  ['an object', `{"aud":"${AUDIENCE}"}`],
  ['null', 'null'],
  ['a nested list', `[["${AUDIENCE}"]]`],
  ['an empty list', '[]'],
  ['the trusted value plus a number', `["${AUDIENCE}",42]`],
  ['the trusted value plus null', `["${AUDIENCE}",null]`],
  ['the trusted value plus an object', `["${AUDIENCE}",{}]`],
  ['an empty string', '""'],
  ['the trusted value with a trailing space', `"${AUDIENCE} "`],
  ['the trusted value with a trailing slash', `"${AUDIENCE}/"`],
  ['true', 'true'],
] as const) {
  add(
    'aud',
    `aud ${label}`,
    () => jws(H_RS, claimsWithRaw('aud', raw), RS),
    r401('invalid_audience'),
  )
}

// JWE (five segments, RFC 7516 §7.1) is refused, whatever it claims to be: no decryption key is
// configured.
add(
  'jwe',
  'five-segment JWE (RSA-OAEP, A256GCM)',
  () =>
    [
      segment({ alg: 'RSA-OAEP', enc: 'A256GCM', kid: 'rsa-1' }),
      b64url(Buffer.alloc(256, 1)),
      b64url(Buffer.alloc(12, 2)),
      b64url(Buffer.alloc(64, 3)),
      b64url(Buffer.alloc(16, 4)),
    ].join('.'),
  r401('malformed_token'),
)
add(
  'jwe',
  'five-segment JWE (dir) with an empty key segment',
  () =>
    [
      segment({ alg: 'dir', enc: 'A128GCM' }),
      '',
      b64url(Buffer.alloc(12)),
      b64url('{}'),
      b64url(Buffer.alloc(16)),
    ].join('.'),
  r401('malformed_token'),
)

// Nested JWT (cty: JWT): only the outer token counts; a payload that is not a JSON object is malformed.
const inner = () => jws(H_RS, goodClaims({ sub: 'inner' }), RS)
add(
  'nested jwt',
  'cty JWT, payload is the inner JWT, outer signed by the trusted key',
  () => jws({ ...H_RS, cty: 'JWT' }, inner(), RS),
  r401('malformed_token'),
)
add(
  'nested jwt',
  'cty JWT, payload is a valid inner JWT, outer signed by an attacker',
  () => jws({ ...H_RS, cty: 'JWT' }, inner(), EVIL),
  r401('malformed_token'),
)
// The payload is decoded before the header checks run: not a JSON object decides first.
add(
  'nested jwt',
  'cty JWT, alg none around a valid inner JWT',
  () => jws({ alg: 'none', cty: 'JWT' }, inner()),
  r401('malformed_token'),
)
add(
  'nested jwt',
  'cty JWT with a JSON claims payload: the outer claims decide',
  () => jws({ ...H_RS, cty: 'JWT' }, goodClaims(), RS),
  'valid',
)
add(
  'nested jwt',
  'outer claims for another audience, a valid inner JWT in a claim',
  () => jws(H_RS, goodClaims({ aud: 'https://evil.example', token: inner() }), RS),
  r401('invalid_audience'),
)

// The size cap (maxTokenLength) comes before any parsing.
const MIB = 1024 * 1024
add('size', '1 MB opaque token', () => flatString(MIB), r401('malformed_token'))
add(
  'size',
  '1 MB JWT-shaped token',
  () => {
    const [h, , s] = parts()
    return `${h}.${flatString(MIB)}.${s}`
  },
  r401('malformed_token'),
)
add(
  'size',
  'one character over the cap',
  () => flatString(DEFAULT_MAX + 1, 'a'),
  r401('malformed_token'),
)
addHeader(
  'size',
  '1 MB token in the Authorization header',
  () => `Bearer ${flatString(MIB)}`,
  r401('malformed_token'),
)

// The Authorization header: the Bearer scheme and a b64token (RFC 6750 §2.1), no credentials
// (RFC 6750 §3.1), one header and one method only (RFC 6750 §2, §3.1 invalid_request).
addHeader(
  'header',
  'two Authorization values (token in two places)',
  () => ['Bearer a.b.c', 'Bearer d.e.f'],
  r400('invalid_request'),
)
addHeader(
  'header',
  'the same valid token twice',
  () => {
    const h = `Bearer ${validToken()}`
    return [h, h]
  },
  r400('invalid_request'),
)
addHeader(
  'header',
  'Basic and Bearer values',
  () => ['Basic dXNlcjpwYXNz', `Bearer ${validToken()}`],
  r400('invalid_request'),
)
addHeader('header', 'no Authorization header', () => undefined, r401('missing_token'))
addHeader('header', 'an empty list of values', () => [], r401('missing_token'))
addHeader('header', 'another scheme (Basic)', () => 'Basic dXNlcjpwYXNz', r401('missing_token'))
addHeader('header', '"Bearer" with no token', () => 'Bearer', r400('invalid_request'))
addHeader('header', '"Bearer  a b" (two credentials)', () => 'Bearer  a b', r400('invalid_request'))
addHeader(
  'header',
  "'=' inside the token",
  () => {
    const [h, p, s] = parts()
    return `Bearer ${h}=.${p}.${s}`
  },
  r400('invalid_request'),
)
addHeader(
  'header',
  'NUL in the credential',
  () => `Bearer ${validToken()}\u0000`,
  r400('invalid_request'),
)
// RFC 7235 §2.1: only spaces separate the scheme from the credentials.
addHeader(
  'header',
  'a tab after the scheme',
  () => `Bearer\t${validToken()}`,
  r400('invalid_request'),
)
addHeader(
  'header',
  'a no-break space after the scheme',
  () => `Bearer\u00a0${validToken()}`,
  r400('invalid_request'),
)
addHeader('header', 'a valid token, scheme in odd case', () => `bEaReR ${validToken()}`, 'valid')
addHeader('header', 'a valid token', () => `Bearer ${validToken()}`, 'valid')

// typ and token kind: no other JWT type, no ID token as an access token (RFC 8725 §3.11, §3.12;
// RFC 9068 §4).
add(
  'token type',
  'typ dpop+jwt',
  () => jws({ ...H_RS, typ: 'dpop+jwt' }, goodClaims(), RS),
  r401('invalid_token_type'),
)
add(
  'token type',
  'typ a number',
  () => jws({ ...H_RS, typ: 1 }, goodClaims(), RS),
  r401('invalid_token_type'),
)
add(
  'token type',
  'an ID token (nonce)',
  () => jws(H_RS, goodClaims({ nonce: 'n' }), RS),
  r401('invalid_token_type'),
)

// ---------------------------------------------------------------------------------------------

let context: Context
const validators: Record<'static' | 'remote', Record<'default' | 'large', Validator>> = {
  static: {} as Record<'default' | 'large', Validator>,
  remote: {} as Record<'default' | 'large', Validator>,
}

beforeAll(async () => {
  const faults = await startFaultServer()
  // The issuer's JWKS, and what an attacker would love to be fetched.
  faults.setRoute('/jwks', { status: 200, body: { keys: TRUSTED_JWKS } })
  faults.setRoute('/jku', { status: 200, body: { keys: [ATTACKER_JWK, ATTACKER_EC_JWK] } })
  faults.setRoute('/x5u', {
    status: 200,
    body: certificatePem(ATTACKER_CERT),
    headers: { 'content-type': 'application/pem-certificate-chain' },
  })
  context = { faults }
  for (const size of ['default', 'large'] as const) {
    const common = {
      issuer: ISSUER,
      audience: AUDIENCE,
      ...(size === 'large' ? { maxTokenLength: LARGE_MAX } : {}),
    }
    validators.static[size] = createValidator({ ...common, jwks: { keys: TRUSTED_JWKS } })
    validators.remote[size] = createValidator({ ...common, jwksUri: `${faults.url}/jwks` })
  }
})

afterAll(async () => {
  await context.faults.close()
})

function run(validator: Validator, attack: Attack, input: ReturnType<Attack['input']>) {
  return attack.call === 'validate'
    ? validator.validate(input as string)
    : validator.authenticate(input)
}

async function check(attack: Attack): Promise<void> {
  const input = attack.input(context)
  for (const source of ['static', 'remote'] as const) {
    const result = await outcome(() =>
      run(validators[source][attack.config ?? 'default'], attack, input),
    )
    expect(verdictOf(result), source).toEqual(attack.expected)
    if (result.kind === 'ok') expect(result.value.issuer).toBe(ISSUER)
    if (result.kind === 'rejected') {
      const response = toHttpResponse(result.error)
      expect(response.status, source).toBe(result.error.status)
      const token = typeof input === 'string' ? input.replace(/^Bearer /i, '') : ''
      if (token.length > 8) {
        expect(JSON.stringify(response).includes(token), 'the token is echoed').toBe(false)
      }
    }
  }
  // Only the configured JWKS URL was ever fetched: never a jku, x5u or kid-derived URL.
  expect(context.faults.requests.filter((request) => request.path !== '/jwks')).toEqual([])
}

describe(`attack corpus (${corpus.length} cases)`, () => {
  it('has one entry per case, each with a distinct name', () => {
    const names = corpus.map((attack) => `${attack.group}: ${attack.name}`)
    expect(new Set(names).size).toBe(names.length)
    expect(corpus.length).toBeGreaterThanOrEqual(150)
    console.info(`attack corpus: ${corpus.length} cases`)
  })

  it.each(corpus)('$group: $name', check)

  it('the remote validator did fetch its JWKS (and nothing else)', () => {
    expect(context.faults.requestsTo('/jwks').length).toBeGreaterThanOrEqual(1)
    expect(context.faults.requestsTo('/jku')).toEqual([])
    expect(context.faults.requestsTo('/x5u')).toEqual([])
  })
})

describe('a 1 MB token is refused cheaply', () => {
  // Both inputs are flat strings, as Node's HTTP parser hands them over: a rope would be
  // flattened (copied) by the first string operation, which would measure the test, not the core.
  it.each([
    ['validate', (big: string) => big, (v: Validator, input: string) => v.validate(input)],
    [
      'authenticate',
      (big: string) => Buffer.from(`Bearer ${big}`, 'latin1').toString('latin1'),
      (v: Validator, input: string) => v.authenticate(input),
    ],
  ] as const)(
    'via %s: 401 malformed_token in < 50 ms, without copying the token',
    async (_name, prepare, call) => {
      const validator = validators.static.default
      const input = prepare(flatString(MIB))
      // Warm the path up with another oversized token first: the first call compiles code.
      await outcome(() => call(validator, prepare(flatString(MIB, 'B'))))
      const timings: number[] = []
      const deltas: number[] = []
      for (let round = 0; round < 3; round++) {
        const before = await settledHeapUsed()
        const started = performance.now()
        const result = await outcome(() => call(validator, input))
        timings.push(performance.now() - started)
        deltas.push(process.memoryUsage().heapUsed - before)
        expect(verdictOf(result)).toEqual({ code: 'malformed_token', status: 401 })
      }
      expect(Math.max(...timings)).toBeLessThan(50)
      // Copying (or decoding) the 1 MiB token would allocate at least 1 MiB.
      expect(Math.max(...deltas)).toBeLessThan(512 * 1024)
      console.info(
        `1 MB token via ${_name}: ${Math.max(...timings).toFixed(2)} ms, heap delta ${Math.max(...deltas)} bytes`,
      )
    },
  )
})

describe('differential: node:crypto fast path vs jose, over the corpus', () => {
  const ALLOWED = new Set([
    'RS256',
    'RS384',
    'RS512',
    'PS256',
    'PS384',
    'PS512',
    'ES256',
    'ES384',
    'ES512',
    'EdDSA',
  ])
  const keySet = createLocalJWKSet({ keys: TRUSTED_JWKS })

  async function verdict(run: () => void | Promise<void>): Promise<string> {
    const result = await outcome(async () => {
      await run()
    })
    const v = verdictOf(result)
    return typeof v === 'string' ? v : v.code
  }

  it('gives the same verdict for every token that reaches signature checking', async () => {
    const compared: string[] = []
    const disagreements: string[] = []
    const classifier = new TokenClassifier()
    for (const attack of corpus) {
      if (attack.call !== 'validate') continue
      const token = attack.input(context) as string
      let classified: ReturnType<TokenClassifier['classify']>
      try {
        classified = classifier.classify(token)
      } catch {
        continue // JWE: refused before any key is looked up
      }
      if (classified.kind !== 'jwt') continue
      const { header } = classified
      const alg = header.alg as string
      // The validator refuses these before it looks up a key (checkAlgorithm, checkCritical).
      if (!ALLOWED.has(alg) || header.crit !== undefined || header.b64 !== undefined) continue
      const key = await keySet(header, { payload: '', signature: '' }).catch(() => undefined)
      if (key === undefined) continue // no key selected: unknown_key, no signature check
      const fast = await verdict(() => verifySignature(token, alg, key))
      const jose = await verdict(() => verifyWithJose(token, alg, key))
      compared.push(attack.name)
      if (fast !== jose)
        disagreements.push(`${attack.group}: ${attack.name}: fast=${fast} jose=${jose}`)
      // Where the corpus is about the signature itself, the verdict is the expected one.
      const expected = attack.expected === 'valid' ? 'valid' : attack.expected.code
      if (expected === 'invalid_signature' || expected === 'valid') {
        expect(fast, attack.name).toBe(expected)
      }
    }
    expect(disagreements).toEqual([])
    expect(compared.length).toBeGreaterThanOrEqual(60)
    console.info(`differential: ${compared.length} corpus tokens compared on both signature paths`)
  })
})
