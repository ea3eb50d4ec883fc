// RFC 9449 DPoP proofs: the checks of §4.3, one describe per check, with the RFC's own examples
// (Figures 2 and 13, their key's thumbprint, the `ath` of Figure 13's token) and RFC 7638 §3.1's
// thumbprint. Every refusal is asserted with its code, status and exact challenge.
import { hash } from 'node:crypto'
import { CompactSign, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { TokenwardError } from '@tokenward/core'
import {
  DPOP_CLOCK_TOLERANCE_SECONDS,
  DPOP_IAT_WINDOW_SECONDS,
  checkDpopProof,
  dpopHeader,
  type DpopProof,
  type DpopProofCheck,
} from '../src/dpop.js'
import { normalizeHtu } from '../src/htu.js'
import { createMemoryReplayStore } from '../src/replay.js'
import type { ReplayStore } from '../src/types.js'
import {
  accessTokenHash,
  createDpopClient,
  type DpopClient,
  type ProofOptions,
} from './support/dpop.js'
import { expectUnavailable, rejection } from './support/tokens.js'

const NOW = 1_700_000_000
const URL_ = 'https://api.example.com/orders'
const TOKEN = 'access-token-1'
const ALGS = ['ES256', 'PS256', 'EdDSA']

let client: DpopClient
beforeAll(async () => {
  client = await createDpopClient('ES256')
})

/** A replay store of its own, on the test's clock. */
const store = (now = NOW): ReplayStore => createMemoryReplayStore({ clock: () => now * 1000 })

function checkFor(overrides: Partial<DpopProofCheck> = {}): DpopProofCheck {
  return {
    method: 'GET',
    url: URL_,
    accessToken: TOKEN,
    now: NOW,
    algorithms: ALGS,
    replay: store(),
    ...overrides,
  }
}

/** A proof for GET {@link URL_} with {@link TOKEN} at {@link NOW}, by `client` unless told. */
function proofFor(options: Partial<ProofOptions> = {}, by: DpopClient = client): Promise<string> {
  return by.proof({ method: 'GET', url: URL_, accessToken: TOKEN, iat: NOW, ...options })
}

/** The rejection of a check that throws or rejects; fails the test when it passes. */
const refusal = (run: () => unknown): Promise<TokenwardError> => rejection((async () => run())())

/** invalid_dpop_proof, 401, and the DPoP challenge carrying the error (RFC 9449 §7.1). */
function expectRefused(error: TokenwardError, detail: string, algs = ALGS): void {
  expect(error).toBeInstanceOf(TokenwardError)
  expect([error.code, error.status, error.error]).toEqual([
    'invalid_dpop_proof',
    401,
    'invalid_dpop_proof',
  ])
  expect(error.wwwAuthenticate()).toBe(
    `Bearer realm="api", DPoP error="invalid_dpop_proof", error_description="The DPoP proof is invalid: ${detail}", algs="${algs.join(' ')}"`,
  )
}

/** A compact JWS with any header and payload, signed by `client` (or with `signature`). */
async function rawProof(
  header: Record<string, unknown>,
  payload: Record<string, unknown> | string,
  signature?: string,
): Promise<string> {
  const encode = (value: unknown) =>
    Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
  if (signature !== undefined) return `${encode(header)}.${encode(payload)}.${signature}`
  const bytes = new TextEncoder().encode(
    typeof payload === 'string' ? payload : JSON.stringify(payload),
  )
  return new CompactSign(bytes)
    .setProtectedHeader(header as { alg: string })
    .sign(client.privateKey)
}

const CLAIMS = () => ({ jti: 'j-1', htm: 'GET', htu: URL_, iat: NOW, ath: accessTokenHash(TOKEN) })

// ---------------------------------------------------------------------------------------------
// RFC 9449's examples. Figure 13 is a resource request with a DPoP-bound token; Figure 2 a token
// request (no access token, no ath). Both are signed by Figure 4's key.

const RFC_TOKEN = 'Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU'
const RFC_ATH = 'fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo'
const RFC_JWK = {
  kty: 'EC',
  x: 'l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs',
  y: '9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA',
  crv: 'P-256',
}
const RFC_JKT = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I'
const RFC_HEADER =
  'eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19'
const FIGURE_13_PROOF = [
  RFC_HEADER,
  'eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9',
  '2oW9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA',
].join('.')
const FIGURE_2_PROOF = [
  RFC_HEADER,
  'eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ',
  '2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg',
].join('.')
const RFC_NOW = 1_562_262_620
const RFC_RESOURCE = 'https://resource.example.org/protectedresource'

describe('RFC 9449 examples (Figures 2, 4, 13 and 14)', () => {
  const rfcCheck = (overrides: Partial<DpopProofCheck> = {}): DpopProofCheck => ({
    method: 'GET',
    url: RFC_RESOURCE,
    accessToken: RFC_TOKEN,
    now: RFC_NOW,
    algorithms: ['ES256'],
    replay: store(RFC_NOW),
    ...overrides,
  })

  it('ath of the Figure 13 access token is base64url(SHA-256(token))', () => {
    expect(hash('sha256', RFC_TOKEN, 'base64url')).toBe(RFC_ATH)
    expect(accessTokenHash(RFC_TOKEN)).toBe(RFC_ATH)
  })

  it('the JWK of Figure 4 has the RFC 7638 thumbprint the RFC binds tokens to (cnf.jkt)', async () => {
    expect(await calculateJwkThumbprint(RFC_JWK as JWK)).toBe(RFC_JKT)
  })

  it('accepts the Figure 13 proof and returns its key thumbprint and claims', async () => {
    const proof: DpopProof = await checkDpopProof(FIGURE_13_PROOF, rfcCheck())
    expect(proof).toEqual({
      jkt: RFC_JKT,
      jti: 'e1j3V_bKic8-LAEB',
      iat: 1_562_262_618,
      htm: 'GET',
      htu: RFC_RESOURCE,
      alg: 'ES256',
      jwk: RFC_JWK,
    })
  })

  it('accepts the Figure 2 token-request proof when no access token is presented', async () => {
    const proof = await checkDpopProof(
      FIGURE_2_PROOF,
      rfcCheck({ method: 'POST', url: 'https://server.example.com/token', accessToken: undefined }),
    )
    expect([proof.jkt, proof.jti]).toEqual([RFC_JKT, '-BwC3ESc6acc2lTc'])
  })

  it.each<[string, Partial<DpopProofCheck>, string | null]>([
    ['as given', {}, null],
    ['method POST', { method: 'POST' }, "htm 'GET' is not the method 'POST'"],
    ['a query string on the URL', { url: `${RFC_RESOURCE}?x=1` }, null],
    [
      'the host in capitals, with its default port',
      { url: 'https://RESOURCE.example.org:443/protectedresource' },
      null,
    ],
    ['another access token', { accessToken: 'another' }, 'ath is not the hash of the access token'],
    ['301 seconds after iat', { now: 1_562_262_618 + 301 }, 'iat is older than 300 seconds'],
  ])('Figure 13 proof, %s', async (_name, overrides, detail) => {
    const run = () => checkDpopProof(FIGURE_13_PROOF, rfcCheck(overrides))
    if (detail === null) expect(await run()).toMatchObject({ jkt: RFC_JKT })
    else expectRefused(await refusal(run), detail, ['ES256'])
  })

  it('Figure 13 proof, a second time: replayed', async () => {
    const check = rfcCheck()
    await checkDpopProof(FIGURE_13_PROOF, check)
    expectRefused(
      await refusal(() => checkDpopProof(FIGURE_13_PROOF, check)),
      'the proof was used before',
      ['ES256'],
    )
  })
})

describe('jkt: the RFC 7638 thumbprint of the proof key (what cnf.jkt must equal, §6.1)', () => {
  it('RFC 7638 §3.1: the RSA example key', async () => {
    const rsa = {
      e: 'AQAB',
      kty: 'RSA',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
    }
    expect(await calculateJwkThumbprint(rsa)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs')
  })

  it.each(['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA'] as const)(
    'a %s proof: jkt is the thumbprint of the embedded key',
    async (alg) => {
      const other = await createDpopClient(alg)
      const proof = await checkDpopProof(await proofFor({}, other), checkFor({ algorithms: [alg] }))
      expect(proof.jkt).toBe(other.jkt)
      expect(proof.jkt).toBe(await calculateJwkThumbprint(other.publicJwk))
      expect(proof.jwk).toEqual(other.publicJwk)
    },
  )
})

describe('a known key is imported once and shared: what a proof returns cannot change it', () => {
  it('the returned jwk is frozen', async () => {
    const proof = await checkDpopProof(await proofFor({ jti: 'frozen' }), checkFor())
    expect(Object.isFrozen(proof.jwk)).toBe(true)
  })

  it('a header refused under one allow-list is accepted under another', async () => {
    const other = await createDpopClient('ES384')
    const proof = await proofFor({}, other)
    expectRefused(
      await refusal(() => checkDpopProof(proof, checkFor())),
      "alg 'ES384' is not accepted",
    )
    expect((await checkDpopProof(proof, checkFor({ algorithms: ['ES384'] }))).jkt).toBe(other.jkt)
  })
})

describe('§4.3 check 1: not more than one DPoP header', () => {
  it.each<[string, Record<string, string | string[] | undefined>, string | undefined]>([
    ['none', {}, undefined],
    ['undefined', { dpop: undefined }, undefined],
    ['an empty list', { dpop: [] }, undefined],
    ['one', { dpop: 'a.b.c' }, 'a.b.c'],
    ['one, in a list', { dpop: ['a.b.c'] }, 'a.b.c'],
    ['one, name in another case', { DPoP: 'a.b.c' }, 'a.b.c'],
    ['one, surrounding spaces', { dpop: ' a.b.c ' }, 'a.b.c'],
  ])('%s', (_name, headers, expected) => {
    expect(dpopHeader(headers, ALGS)).toBe(expected)
  })

  it.each<[string, Record<string, string | string[]>]>([
    ['two in a list', { dpop: ['a.b.c', 'd.e.f'] }],
    ['two joined by Node', { dpop: 'a.b.c, d.e.f' }],
  ])('%s: refused', async (_name, headers) => {
    expectRefused(await refusal(() => dpopHeader(headers, ALGS)), 'more than one DPoP header')
  })
})

describe('§4.3 check 2: one well-formed compact JWS', () => {
  it.each<[string, string]>([
    ['empty', ''],
    ['two segments', 'a.b'],
    ['five segments (JWE)', 'a.b.c.d.e'],
    ['not base64url', 'a b.c.d'],
    ['padding', 'YQ==.YQ.YQ'],
    ['longer than 8 KiB', `${'a'.repeat(4096)}.${'b'.repeat(4096)}.c`],
  ])('%s: refused', async (_name, proof) => {
    expectRefused(
      await refusal(() => checkDpopProof(proof, checkFor())),
      'the proof is not a compact JWS',
    )
  })

  it('a header that is not a JSON object: refused', async () => {
    const proof = `${Buffer.from('[1]').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.c`
    expectRefused(
      await refusal(() => checkDpopProof(proof, checkFor())),
      'the header is not a JSON object',
    )
  })

  it('a payload that is not a JSON object: refused', async () => {
    const proof = await rawProof({ typ: 'dpop+jwt', alg: 'ES256', jwk: client.publicJwk }, '"x"')
    expectRefused(
      await refusal(() => checkDpopProof(proof, checkFor())),
      'the payload is not a JSON object',
    )
  })
})

describe('§4.3 check 3: the required claims (§4.2)', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['no jti', { jti: undefined }, 'jti is missing'],
    ['an empty jti', { jti: '' }, 'jti is missing'],
    ['a numeric jti', { jti: 7 }, 'jti is missing'],
    ['a jti of 257 characters', { jti: 'j'.repeat(257) }, 'jti is longer than 256 characters'],
    ['no htm', { htm: undefined }, 'htm is missing'],
    ['no htu', { htu: undefined }, 'htu is missing'],
    ['no iat', { iat: undefined }, 'iat is missing'],
    ['a string iat', { iat: String(NOW) }, 'iat is missing'],
    ['no ath with an access token', { ath: undefined }, 'ath is missing'],
  ])('%s: refused', async (_name, claims, detail) => {
    const proof = await proofFor({ claims })
    expectRefused(await refusal(() => checkDpopProof(proof, checkFor())), detail)
  })

  it('a jti of 256 characters is accepted', async () => {
    const proof = await proofFor({ jti: 'j'.repeat(256) })
    expect(await checkDpopProof(proof, checkFor())).toMatchObject({ jti: 'j'.repeat(256) })
  })
})

describe('§4.3 check 4: typ is dpop+jwt', () => {
  it.each<[string, unknown, string | null]>([
    ['dpop+jwt', 'dpop+jwt', null],
    ['in capitals', 'DPoP+JWT', null],
    ['with the application/ prefix', 'application/dpop+jwt', null],
    ['JWT', 'JWT', "typ must be dpop+jwt, found 'JWT'"],
    ['at+jwt', 'at+jwt', "typ must be dpop+jwt, found 'at+jwt'"],
    ['absent', undefined, 'typ must be dpop+jwt, found a undefined'],
    ['a number', 1, 'typ must be dpop+jwt, found a number'],
  ])('%s', async (_name, typ, detail) => {
    const proof = await proofFor({ header: { typ } })
    const run = () => checkDpopProof(proof, checkFor())
    if (detail === null) expect(await run()).toMatchObject({ jkt: client.jkt })
    else expectRefused(await refusal(run), detail)
  })
})

describe('§4.3 check 5: an asymmetric alg the API accepts', () => {
  it('an alg left out of the list: refused', async () => {
    const rsa = await createDpopClient('RS256')
    const proof = await proofFor({}, rsa)
    expectRefused(
      await refusal(() => checkDpopProof(proof, checkFor())),
      "alg 'RS256' is not accepted",
    )
  })

  it.each<[string, string]>([
    ['none', 'none'],
    ['HS256 (a MAC)', 'HS256'],
  ])('%s: refused, whatever the list', async (_name, alg) => {
    const proof = await rawProof({ typ: 'dpop+jwt', alg, jwk: client.publicJwk }, CLAIMS(), '')
    expectRefused(
      await refusal(() => checkDpopProof(proof, checkFor())),
      `alg '${alg}' is not accepted`,
    )
  })

  it('the challenge names the accepted algs', async () => {
    const error = await refusal(async () =>
      checkDpopProof(
        await proofFor({}, await createDpopClient('EdDSA')),
        checkFor({ algorithms: ['ES256', 'ES384'] }),
      ),
    )
    expectRefused(error, "alg 'EdDSA' is not accepted", ['ES256', 'ES384'])
  })

  it('a critical header extension: refused (DPoP defines none)', async () => {
    const proof = await rawProof(
      { typ: 'dpop+jwt', alg: 'ES256', jwk: client.publicJwk, crit: ['x'], x: 1 },
      CLAIMS(),
      'sig',
    )
    expectRefused(await refusal(() => checkDpopProof(proof, checkFor())), 'crit is not supported')
  })
})

describe('§4.3 check 6: the signature verifies with the jwk of the header', () => {
  it('signed by another key than the one embedded: refused', async () => {
    const other = await createDpopClient('ES256')
    const proof = await proofFor({ signWith: other.privateKey })
    expectRefused(
      await refusal(() => checkDpopProof(proof, checkFor())),
      'the signature does not verify with the jwk',
    )
  })

  it('a payload changed after signing: refused', async () => {
    const [header, , signature] = (await proofFor()).split('.')
    const payload = Buffer.from(JSON.stringify({ ...CLAIMS(), jti: 'changed' })).toString(
      'base64url',
    )
    expectRefused(
      await refusal(() => checkDpopProof(`${header}.${payload}.${signature}`, checkFor())),
      'the signature does not verify with the jwk',
    )
  })

  it('an empty signature: refused', async () => {
    const [header, payload] = (await proofFor()).split('.')
    expectRefused(
      await refusal(() => checkDpopProof(`${header}.${payload}.`, checkFor())),
      'the signature does not verify with the jwk',
    )
  })

  it.each<[string, () => Promise<JWK>]>([
    ['an RSA jwk under alg ES256', async () => (await createDpopClient('RS256')).publicJwk],
    ['a jwk for encryption (use enc)', async () => ({ ...client.publicJwk, use: 'enc' })],
    ['a jwk for another alg', async () => ({ ...client.publicJwk, alg: 'ES384' })],
    ['a jwk of an unknown kty', async () => ({ kty: 'XYZ', x: 'a' })],
  ])('%s: refused', async (_name, jwk) => {
    const proof = await proofFor({ header: { jwk: await jwk() } })
    expectRefused(
      await refusal(() => checkDpopProof(proof, checkFor())),
      'the jwk is not a usable public key for alg',
    )
  })
})

describe('§4.3 check 7: the jwk holds no private key', () => {
  it.each<[string, () => Promise<JWK>]>([
    ['an EC private key (d)', async () => exportJWK(client.privateKey)],
    [
      'an RSA private key (d, p, q, dp, dq, qi)',
      async () => exportJWK((await generateKeyPair('PS256', { extractable: true })).privateKey),
    ],
    ['a symmetric key (k)', async () => ({ kty: 'oct', k: 'c2VjcmV0' })],
  ])('%s: refused', async (_name, jwk) => {
    const proof = await proofFor({ header: { jwk: await jwk() } })
    expectRefused(
      await refusal(() => checkDpopProof(proof, checkFor())),
      'the jwk holds a private key',
    )
  })

  it.each<[string, unknown]>([
    ['absent', undefined],
    ['a string', 'key'],
    ['a list', ['key']],
    ['null', null],
  ])('a jwk %s: refused', async (_name, jwk) => {
    const proof = await proofFor({ header: { jwk } })
    expectRefused(await refusal(() => checkDpopProof(proof, checkFor())), 'the header has no jwk')
  })
})

describe('§4.3 check 8: htm is the request method (case-sensitive, RFC 9110 §9.1)', () => {
  it.each<[string, string, string, string | null]>([
    ['GET for GET', 'GET', 'GET', null],
    ['POST for DELETE', 'POST', 'DELETE', "htm 'POST' is not the method 'DELETE'"],
    ['get for GET', 'get', 'GET', "htm 'get' is not the method 'GET'"],
  ])('%s', async (_name, htm, method, detail) => {
    const proof = await proofFor({ method: htm })
    const run = () => checkDpopProof(proof, checkFor({ method }))
    if (detail === null) expect(await run()).toMatchObject({ htm })
    else expectRefused(await refusal(run), detail)
  })
})

describe('§4.3 check 9: htu is the request URL without query and fragment (RFC 3986 §6.2.2, §6.2.3)', () => {
  it.each<[string, string, string | undefined]>([
    ['as is', 'https://api.example.com/orders', 'https://api.example.com/orders'],
    ['scheme and host case', 'HTTPS://API.Example.COM/orders', 'https://api.example.com/orders'],
    ['path case kept', 'https://api.example.com/Orders', 'https://api.example.com/Orders'],
    ['default https port', 'https://api.example.com:443/orders', 'https://api.example.com/orders'],
    ['default http port', 'http://127.0.0.1:80/orders', 'http://127.0.0.1/orders'],
    [
      'another port kept',
      'https://api.example.com:8443/orders',
      'https://api.example.com:8443/orders',
    ],
    [
      'query and fragment dropped',
      'https://api.example.com/orders?a=1#top',
      'https://api.example.com/orders',
    ],
    ['empty path', 'https://api.example.com', 'https://api.example.com/'],
    ['dot segments', 'https://api.example.com/a/../orders/./', 'https://api.example.com/orders/'],
    ['percent-encoding case', 'https://api.example.com/a%2fb', 'https://api.example.com/a%2Fb'],
    [
      'unreserved characters decoded',
      'https://api.example.com/%7Euser%2D1',
      'https://api.example.com/~user-1',
    ],
    ['userinfo kept', 'https://u:p@api.example.com/', 'https://u:p@api.example.com/'],
    ['IPv6 host', 'https://[::1]:443/x', 'https://[::1]/x'],
    ['not a URL', 'orders', undefined],
    ['another scheme', 'ftp://api.example.com/orders', undefined],
  ])('normalisation: %s', (_name, value, expected) => {
    expect(normalizeHtu(value)).toBe(expected)
  })

  it.each<[string, string, string, string | null]>([
    ['equal', URL_, URL_, null],
    ['equal after normalisation', 'https://API.example.com:443/%6Frders', `${URL_}?page=2`, null],
    ['a proof with a query, for the URL without', `${URL_}?page=2`, URL_, null],
    [
      'another path',
      'https://api.example.com/invoices',
      URL_,
      "htu 'https://api.example.com/invoices' is not this request's URL",
    ],
    [
      'another host',
      'https://evil.example/orders',
      URL_,
      "htu 'https://evil.example/orders' is not this request's URL",
    ],
    [
      'http for https',
      'http://api.example.com/orders',
      URL_,
      "htu 'http://api.example.com/orders' is not this request's URL",
    ],
    [
      'a trailing slash',
      `${URL_}/`,
      URL_,
      "htu 'https://api.example.com/orders/' is not this request's URL",
    ],
    ['not a URL', 'orders', URL_, "htu 'orders' is not this request's URL"],
  ])('%s', async (_name, htu, url, detail) => {
    const proof = await proofFor({ url: htu })
    const run = () => checkDpopProof(proof, checkFor({ url }))
    if (detail === null) expect(await run()).toMatchObject({ htu })
    else expectRefused(await refusal(run), detail)
  })

  it('a request URL that is not absolute is the caller’s error (TypeError, a 500)', async () => {
    const proof = await proofFor()
    await expect(
      refusal(() => checkDpopProof(proof, checkFor({ url: '/orders' }))),
    ).resolves.toBeInstanceOf(TypeError)
  })
})

describe('§4.3 check 11: iat within the window (§11.1)', () => {
  it('defaults: 300 seconds old, 60 seconds ahead', () => {
    expect([DPOP_IAT_WINDOW_SECONDS, DPOP_CLOCK_TOLERANCE_SECONDS]).toEqual([300, 60])
  })

  it.each<[string, number, Partial<DpopProofCheck>, string | null]>([
    ['now', NOW, {}, null],
    ['300 seconds old', NOW - 300, {}, null],
    ['301 seconds old', NOW - 301, {}, 'iat is older than 300 seconds'],
    ['60 seconds ahead', NOW + 60, {}, null],
    ['61 seconds ahead', NOW + 61, {}, 'iat is in the future'],
    ['fractional, inside', NOW - 299.5, {}, null],
    ['30 seconds old, window 30', NOW - 30, { iatWindowSeconds: 30 }, null],
    [
      '31 seconds old, window 30',
      NOW - 31,
      { iatWindowSeconds: 30 },
      'iat is older than 30 seconds',
    ],
    ['5 seconds ahead, tolerance 0', NOW + 5, { clockToleranceSeconds: 0 }, 'iat is in the future'],
  ])('%s', async (_name, iat, overrides, detail) => {
    const proof = await proofFor({ iat })
    const run = () => checkDpopProof(proof, checkFor(overrides))
    if (detail === null) expect(await run()).toMatchObject({ iat })
    else expectRefused(await refusal(run), detail)
  })
})

describe('§4.3 check 12: ath is the hash of the access token', () => {
  it.each<[string, Partial<ProofOptions>, Partial<DpopProofCheck>, string | null]>([
    ['the token’s hash', {}, {}, null],
    [
      'another token’s hash',
      { accessToken: 'other' },
      {},
      'ath is not the hash of the access token',
    ],
    ['no ath', { accessToken: undefined }, {}, 'ath is missing'],
    ['a number', { claims: { ath: 1 } }, {}, 'ath is missing'],
    [
      'no access token presented, no ath',
      { accessToken: undefined },
      { accessToken: undefined },
      null,
    ],
  ])('%s', async (_name, options, overrides, detail) => {
    const proof = await proofFor(options)
    const run = () => checkDpopProof(proof, checkFor(overrides))
    if (detail === null) expect(await run()).toMatchObject({ jkt: client.jkt })
    else expectRefused(await refusal(run), detail)
  })
})

describe('§11.1: each proof is used once (the replay store)', () => {
  it('the same proof twice: refused the second time', async () => {
    const check = checkFor()
    const proof = await proofFor()
    await checkDpopProof(proof, check)
    expectRefused(await refusal(() => checkDpopProof(proof, check)), 'the proof was used before')
  })

  it('another jti, or the same jti from another key, is another proof', async () => {
    const check = checkFor()
    await checkDpopProof(await proofFor({ jti: 'a' }), check)
    await checkDpopProof(await proofFor({ jti: 'b' }), check)
    await checkDpopProof(await proofFor({ jti: 'a' }, await createDpopClient()), check)
  })

  it('a refused proof is not recorded (it may be sent again once fixed)', async () => {
    const check = checkFor()
    const proof = await proofFor({ jti: 'late' })
    await refusal(() => checkDpopProof(proof, { ...check, method: 'POST' }))
    expect(await checkDpopProof(proof, check)).toMatchObject({ jti: 'late' })
  })

  it('records a hashed key for as long as the proof could be accepted', async () => {
    const claims: [string, number][] = []
    const replay: ReplayStore = {
      claim(key, ttlSeconds) {
        claims.push([key, ttlSeconds])
        return true
      },
    }
    await checkDpopProof(
      await proofFor({ iat: NOW - 100, jti: 'secret-jti' }),
      checkFor({ replay }),
    )
    await checkDpopProof(
      await proofFor({ iat: NOW + 30 }),
      checkFor({ replay, iatWindowSeconds: 60 }),
    )
    expect(claims.map(([, ttl]) => ttl)).toEqual([200, 90])
    for (const [key] of claims) {
      expect(key).toMatch(/^dpop:[A-Za-z0-9_-]{43}$/)
      expect(key).not.toContain('secret-jti')
    }
  })

  it('an asynchronous store (a shared one): concurrent uses of one proof, one wins', async () => {
    const seen = new Set<string>()
    const replay: ReplayStore = {
      async claim(key) {
        await new Promise((resolve) => setTimeout(resolve, 1))
        if (seen.has(key)) return false
        seen.add(key)
        return true
      },
    }
    const proof = await proofFor()
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () =>
        Promise.resolve().then(() => checkDpopProof(proof, checkFor({ replay }))),
      ),
    )
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    for (const result of results) {
      if (result.status === 'rejected') {
        expectRefused(result.reason as TokenwardError, 'the proof was used before')
      }
    }
  })

  it('a store that refuses: the proof is refused', async () => {
    const replay: ReplayStore = { claim: () => Promise.resolve(false) }
    expectRefused(
      await refusal(async () => checkDpopProof(await proofFor(), checkFor({ replay }))),
      'the proof was used before',
    )
  })

  it.each([
    ['rejects', (outage: Error) => () => Promise.reject(outage)],
    [
      'throws',
      (outage: Error) => () => {
        throw outage
      },
    ],
  ])(
    'a store that %s fails closed as an outage (503 upstream_unavailable), not a bad proof',
    async (_how, failing) => {
      const outage = new Error('store unreachable')
      const replay: ReplayStore = { claim: failing(outage) }
      const error = await refusal(async () =>
        checkDpopProof(await proofFor(), checkFor({ replay })),
      )
      expectUnavailable(error)
      expect(error.description).toBe(
        'The token issuer is unavailable: the DPoP replay store is unavailable',
      )
      expect(error.cause).toBe(outage)
    },
  )
})

describe('the in-memory replay store', () => {
  it('claims a key once until its time is up', () => {
    let now = 1_000_000
    const replay = createMemoryReplayStore({ clock: () => now })
    expect(replay.claim('k', 10)).toBe(true)
    expect(replay.claim('k', 10)).toBe(false)
    now += 9_999
    expect(replay.claim('k', 10)).toBe(false)
    now += 1
    expect(replay.claim('k', 10)).toBe(true)
  })

  it('bounded; a record dropped while live makes it refuse proofs as old as that one', () => {
    let now = 1_000_000
    const replay = createMemoryReplayStore({ max: 2, clock: () => now })
    expect(replay.claim('a', 300)).toBe(true)
    expect(replay.claim('b', 300)).toBe(true)
    // 'a' is dropped for 'c', still live: 'a' again may be a replay, refused.
    expect(replay.claim('c', 300)).toBe(true)
    expect(replay.claim('a', 300)).toBe(false)
    expect(replay.claim('x', 300)).toBe(false)
    // A proof whose deadline is later than any dropped one's is new.
    now += 3_000
    expect(replay.claim('d', 300)).toBe(true)
  })

  it('expired records dropped for room do not make it refuse anything', () => {
    let now = 1_000_000
    const replay = createMemoryReplayStore({ max: 1, clock: () => now })
    expect(replay.claim('a', 1)).toBe(true)
    now += 1_000
    expect(replay.claim('b', 300)).toBe(true)
    expect(replay.claim('c', 300)).toBe(true)
  })
})

describe('synchronous where it can be', () => {
  it('a proof from a known key with an in-memory store is checked without a promise', async () => {
    const check = checkFor()
    await checkDpopProof(await proofFor({ jti: 'first' }), check)
    const second = checkDpopProof(await proofFor({ jti: 'second' }), check)
    expect(second).not.toBeInstanceOf(Promise)
    expect((second as DpopProof).jkt).toBe(client.jkt)
  })

  it('a refusal of a known key’s proof is thrown, not returned as a rejected promise', async () => {
    const check = checkFor()
    await checkDpopProof(await proofFor({ jti: 'first' }), check)
    const proof = await proofFor({ method: 'POST' })
    expect(() => checkDpopProof(proof, check)).toThrow(TokenwardError)
  })
})
