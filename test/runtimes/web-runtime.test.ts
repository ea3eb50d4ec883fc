// The Web build's runtime (packages/core/src/runtime/web.ts) against the Node build's
// (node.ts, on node:crypto and Buffer): every member answers the same, on published test vectors
// and on random input (fast-check). web.ts needs only Web APIs, which Node has too, so it runs here.
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto'
import * as fc from 'fast-check'
import {
  SignJWT,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  type CryptoKey,
  type JWK,
} from 'jose'
import { describe, expect, it } from 'vitest'
import type { Runtime } from '../../packages/core/src/runtime/contract.js'
import { runtime as node } from '../../packages/core/src/runtime/node.js'
import { pkcs1ToPkcs8, pkcs8Algorithm } from '../../packages/core/src/runtime/pem.js'
import { hmacSha256 } from '../../packages/core/src/runtime/sha256.js'
import { runtime as web } from '../../packages/core/src/runtime/web.js'

const RUNS = 500
const hex = (base64url: string) => Buffer.from(base64url, 'base64url').toString('hex')
const bytes = (text: string) => new TextEncoder().encode(text)

describe('SHA-256 and HMAC-SHA-256 (web.ts computes them itself)', () => {
  // FIPS 180-4's examples (NIST CSRC "Examples with intermediate values", SHA-256).
  it.each([
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    [
      'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    ],
    [
      'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
      'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
    ],
    ['a'.repeat(1_000_000), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'],
  ])('FIPS 180-4 example %#', (message, digest) => {
    expect(hex(web.sha256(message))).toBe(digest)
    expect(hex(node.sha256(message))).toBe(digest)
  })

  // RFC 4231 §4.2-§4.8 (HMAC-SHA-256 results; case 5's truncation left out).
  const rfc4231: [key: string, data: string, mac: string][] = [
    [
      '0b'.repeat(20),
      Buffer.from('Hi There').toString('hex'),
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    ],
    [
      Buffer.from('Jefe').toString('hex'),
      Buffer.from('what do ya want for nothing?').toString('hex'),
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    ],
    [
      'aa'.repeat(20),
      'dd'.repeat(50),
      '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe',
    ],
    [
      '0102030405060708090a0b0c0d0e0f10111213141516171819',
      'cd'.repeat(50),
      '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
    ],
    [
      'aa'.repeat(131),
      Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First').toString('hex'),
      '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    ],
    [
      'aa'.repeat(131),
      Buffer.from(
        'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.',
      ).toString('hex'),
      '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
    ],
  ]
  it.each(rfc4231)('RFC 4231 test case %#', (key, data, mac) => {
    const digest = hmacSha256(Buffer.from(key, 'hex'), Buffer.from(data, 'hex'))
    expect(Buffer.from(digest).toString('hex')).toBe(mac)
    // Through the contract, which takes text as UTF-8: the cases whose data is ASCII.
    const text = Buffer.from(data, 'hex').toString('latin1')
    if (Buffer.from(data, 'hex').every((byte) => byte < 0x80)) {
      for (const runtime of [web, node]) {
        expect(hex(runtime.hmacSha256(Buffer.from(key, 'hex'), text))).toBe(mac)
      }
    }
  })

  it('equals node:crypto on random text (UTF-8, lone surrogates included) and bytes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        expect(web.sha256(text)).toBe(node.sha256(text))
      }),
      { numRuns: RUNS },
    )
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        expect(web.sha256(data)).toBe(node.sha256(data))
      }),
      { numRuns: RUNS },
    )
  })

  it('is right at every length around the block boundaries', () => {
    for (let length = 0; length <= 260; length++) {
      const data = Uint8Array.from({ length }, (_, i) => (i * 31 + length) & 0xff)
      expect(web.sha256(data)).toBe(createHash('sha256').update(data).digest('base64url'))
    }
  })

  it('HMAC equals node:crypto on random keys (shorter and longer than a block) and text', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        (key, text) => {
          expect(web.hmacSha256(key, text)).toBe(node.hmacSha256(key, text))
        },
      ),
      { numRuns: RUNS },
    )
  })
})

describe('base64 (web.ts reads it as Buffer does)', () => {
  const ALPHABET = [
    'A',
    'B',
    'Z',
    'a',
    'z',
    '0',
    '9',
    '+',
    '/',
    '-',
    '_',
    '=',
    ' ',
    '\n',
    '.',
    '~',
    'é',
  ]
  const lenient = fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength: 40 })

  it('decodeBase64: the same bytes for any text (both alphabets, padding, junk)', () => {
    fc.assert(
      fc.property(fc.oneof(lenient, fc.string({ maxLength: 40 })), (text) => {
        expect(Buffer.from(web.decodeBase64(text)).toString('hex')).toBe(
          Buffer.from(node.decodeBase64(text)).toString('hex'),
        )
      }),
      { numRuns: 2 * RUNS },
    )
  })

  it('decodeBase64Text: the same text for any bytes (invalid UTF-8, a byte order mark)', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.uint8Array({ maxLength: 60 }), (bom, data) => {
        const encoded = Buffer.concat([Buffer.from(bom ? [0xef, 0xbb, 0xbf] : []), data]).toString(
          'base64url',
        )
        expect(web.decodeBase64Text(encoded)).toBe(node.decodeBase64Text(encoded))
      }),
      { numRuns: RUNS },
    )
  })

  it('encodeBase64: the same text, past the 32 KiB chunks too', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (data) => {
        expect(web.encodeBase64(data)).toBe(node.encodeBase64(data))
      }),
      { numRuns: RUNS },
    )
    const large = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7) & 0xff)
    expect(web.encodeBase64(large)).toBe(node.encodeBase64(large))
  })

  it('timingSafeEqual: equal bytes only; a length apart is false, not an exception', () => {
    for (const runtime of [web, node]) {
      expect(runtime.timingSafeEqual(bytes('abc'), bytes('abc'))).toBe(true)
      expect(runtime.timingSafeEqual(bytes('abc'), bytes('abd'))).toBe(false)
      expect(runtime.timingSafeEqual(bytes('abc'), bytes('abcd'))).toBe(false)
      expect(runtime.timingSafeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true)
    }
  })
})

const pem = (key: KeyObject, type: 'pkcs1' | 'pkcs8' | 'sec1') =>
  key.export({ format: 'pem', type } as never) as string

describe('private keys for client assertions (RFC 7523)', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const ed25519 = generateKeyPairSync('ed25519')

  /** The key of an import, awaited; throws for a problem. */
  async function imported(runtime: Runtime, text: string) {
    const result = runtime.importPrivateKey(text)
    if ('problem' in result) throw new Error(result.problem)
    return { alg: result.alg, key: await result.key }
  }

  it.each([
    ['RSA, PKCS#8', rsa, 'pkcs8', 'RS256'],
    ['RSA, PKCS#1 (ZITADEL key files)', rsa, 'pkcs1', 'RS256'],
    ['P-256, PKCS#8', p256, 'pkcs8', 'ES256'],
    ['Ed25519, PKCS#8', ed25519, 'pkcs8', 'EdDSA'],
  ] as const)('%s: both builds sign with it', async (_, pair, type, alg) => {
    for (const runtime of [web, node]) {
      const { alg: found, key } = await imported(runtime, pem(pair.privateKey, type))
      expect(found).toBe(alg)
      const jwt = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg }).sign(key)
      await expect(jwtVerify(jwt, pair.publicKey)).resolves.toMatchObject({ payload: { sub: 'x' } })
    }
  })

  it('a PKCS#1 key is wrapped into exactly the PKCS#8 that node:crypto writes for it', () => {
    const pkcs1 = rsa.privateKey.export({ format: 'der', type: 'pkcs1' })
    const pkcs8 = rsa.privateKey.export({ format: 'der', type: 'pkcs8' })
    expect(Buffer.from(pkcs1ToPkcs8(pkcs1)!).equals(pkcs8)).toBe(true)
  })

  it.each([
    ['P-384', () => generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey],
    ['RSA-PSS', () => generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey],
    ['Ed448', () => generateKeyPairSync('ed448').privateKey],
    ['X25519', () => generateKeyPairSync('x25519').privateKey],
  ])('%s: a key of another type, on both builds', (_, key) => {
    const text = pem(key(), 'pkcs8')
    expect(web.importPrivateKey(text)).toEqual({ problem: 'type' })
    expect(node.importPrivateKey(text)).toEqual({ problem: 'type' })
  })

  it.each([
    ['no PEM', 'not a key'],
    ['empty', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----'],
    ['truncated', pem(rsa.privateKey, 'pkcs8').replace(/\n[^\n]+\n-----END/, '\n-----END')],
    [
      'encrypted',
      rsa.privateKey.export({
        format: 'pem',
        type: 'pkcs8',
        cipher: 'aes-256-cbc',
        passphrase: 'secret',
      }) as string,
    ],
  ])('%s: not a key, on both builds', (_, text) => {
    expect(web.importPrivateKey(text)).toEqual({ problem: 'format' })
    expect(node.importPrivateKey(text)).toEqual({ problem: 'format' })
  })

  it('SEC1 (BEGIN EC PRIVATE KEY) is read by node:crypto only; the Web build says it is no key it reads', () => {
    const text = pem(p256.privateKey, 'sec1')
    expect(node.importPrivateKey(text)).toMatchObject({ alg: 'ES256' })
    expect(web.importPrivateKey(text)).toEqual({ problem: 'format' })
  })

  it('reading any bytes as PKCS#8 never throws', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (der) => {
        expect(['RS256', 'ES256', 'EdDSA', 'type', undefined]).toContain(pkcs8Algorithm(der))
        const wrapped = pkcs1ToPkcs8(der)
        if (wrapped !== undefined) expect(pkcs8Algorithm(wrapped)).toBe('RS256')
      }),
      { numRuns: RUNS },
    )
  })
})

describe('public keys', () => {
  const ALGS = ['RS256', 'PS384', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const

  it.each(ALGS)('%s: the same identity from both builds for a key jose imported', async (alg) => {
    const { publicKey } = await generateKeyPair(alg, { extractable: true })
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k' }
    const key: CryptoKey = await createLocalJWKSet({ keys: [jwk] })(
      { alg, kid: 'k' },
      { payload: '', signature: '' },
    )
    const fromNode = node.exportPublicJwk(key)
    const fromWeb = web.exportPublicJwk(key)
    expect(fromWeb).toBeInstanceOf(Promise)
    const members = ({ kty, crv, e, n, x, y }: Record<string, unknown>) =>
      JSON.stringify({ kty, crv, e, n, x, y })
    expect(members((await fromWeb) as Record<string, unknown>)).toBe(
      members(fromNode as Record<string, unknown>),
    )
    expect(web.publicJwkProblem(jwk)).toBeUndefined()
    expect(node.publicJwkProblem(jwk)).toBeUndefined()
  })

  const rsa = { kty: 'RSA', n: 'sXch', e: 'AQAB' }
  const ec = (crv: string, size: number) => ({
    kty: 'EC',
    crv,
    x: Buffer.alloc(size, 1).toString('base64url'),
    y: Buffer.alloc(size, 2).toString('base64url'),
  })
  it.each([
    ['RSA without n', { kty: 'RSA', e: 'AQAB' }],
    ['RSA with a number e', { ...rsa, e: 65537 }],
    ['EC on an unknown curve', ec('P-192', 24)],
    ['EC without y', { ...ec('P-256', 32), y: undefined }],
    ['EC with x of the wrong size', { ...ec('P-256', 32), x: 'AQAB' }],
    ['OKP x of the wrong size', { kty: 'OKP', crv: 'Ed25519', x: 'AQAB' }],
    ['an unknown key type', { kty: 'XYZ' }],
  ])('%s: refused by both builds', (_, jwk) => {
    expect(web.publicJwkProblem(jwk)).toEqual(expect.any(String))
    expect(node.publicJwkProblem(jwk)).toEqual(expect.any(String))
  })

  it('an EC point off its curve: refused by node:crypto now, by Web Crypto only on first use', () => {
    const offCurve = ec('P-256', 32)
    expect(node.publicJwkProblem(offCurve)).toEqual(expect.any(String))
    expect(web.publicJwkProblem(offCurve)).toBeUndefined()
  })

  it('verifies natively on Node only; the Web build leaves every signature to jose', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256')
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).sign(privateKey)
    expect(node.verifyNatively(token, 'ES256', publicKey)).toBe(true)
    expect(web.verifyNatively(token, 'ES256', publicKey)).toBeUndefined()
  })

  it('only the Node build reads files', () => {
    expect(node.readTextFile).toEqual(expect.any(Function))
    expect(web.readTextFile).toBeUndefined()
  })
})
