// `tokenward inspect` on sender-constrained tokens and step-up, against the real provider: a
// DPoP-bound token (RFC 9449) with its proof, a certificate-bound token (RFC 8705) with the
// client certificate or its thumbprint, and a route's acr / max_age (RFC 9470). Each failure:
// exit status 1, the core's code line, and the hint that shows both sides.
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateSecret } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createValidator } from '@tokenward/core'
import { hintFor } from '@tokenward/cli'
import {
  createDpopClient,
  type DpopClient,
  type ProofOptions,
} from '../../packages/core/test/support/dpop.js'
import {
  createCertificateAuthority,
  type CertifiedKey,
} from '../../packages/core/test/support/x509.js'
import { startIssuer, type TestIssuer } from '../support/issuer.js'
import { run, runBinary } from './run.js'

const URL_ = 'https://api.example.com/orders'
const ALL_ALGS = 'RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA'
const PROOF = 'invalid_dpop_proof (401): The DPoP proof is invalid'
const BINDING =
  'invalid_token_binding (401): The token is bound to a key or certificate this request does not prove'
const STEP_UP =
  'insufficient_user_authentication (401): A different authentication level is required'

let issuer: TestIssuer
let client: DpopClient
let stranger: DpopClient
let alice: CertifiedKey
let bob: CertifiedKey
let folder: string

beforeAll(async () => {
  issuer = await startIssuer()
  ;[client, stranger] = await Promise.all([createDpopClient('ES256'), createDpopClient('ES256')])
  const ca = createCertificateAuthority()
  alice = ca.issueClient('alice')
  bob = ca.issueClient('bob')
  folder = mkdtempSync(join(tmpdir(), 'tokenward-cli-'))
  writeFileSync(join(folder, 'alice.pem'), alice.pem)
  writeFileSync(join(folder, 'bob.der'), bob.der)
})
afterEach(() => {
  vi.useRealTimers()
})
afterAll(async () => {
  rmSync(folder, { recursive: true, force: true })
  await issuer.close()
})

/** RFC 8705 §3.1, computed here apart from the core: base64url(SHA-256(DER)). */
const thumbprint = (certificate: CertifiedKey) =>
  createHash('sha256').update(certificate.der).digest('base64url')

/** `tokenward inspect TOKEN --issuer … --audience … ...args`. */
function inspect(token: string, ...args: string[]) {
  return run(['inspect', token, '--issuer', issuer.issuer, '--audience', issuer.resource, ...args])
}

async function dpopToken(): Promise<string> {
  const issued = await issuer.issueToken({ dpop: client })
  expect(issued.tokenType).toBe('DPoP')
  return issued.token
}

/** The FAIL line of `check` and its fix line, as printed. */
function failure(check: string, codeLine: string, hint: string): string {
  return `FAIL  ${check.padEnd(14)}${codeLine}\n${' '.repeat(20)}fix: ${hint}\n`
}

describe('DPoP proof checks (RFC 9449 §4.3)', () => {
  type Row = [
    name: string,
    proof: (token: string) => Partial<ProofOptions> | Promise<Partial<ProofOptions>>,
    detail: string,
    hint: string,
  ]
  const rows: Row[] = [
    [
      'typ',
      () => ({ header: { typ: 'JWT' } }),
      "typ must be dpop+jwt, found 'JWT'",
      `the proof's header has typ "JWT": a DPoP proof must have typ "dpop+jwt" (RFC 9449 §4.2); a client that signs an ordinary JWT is not making a DPoP proof`,
    ],
    [
      'alg',
      async () => ({ header: { alg: 'HS256' }, signWith: await generateSecret('HS256') }),
      "alg 'HS256' is not accepted",
      `the proof is signed with alg "HS256"; accepted are ${ALL_ALGS} (an asymmetric algorithm, never none or HS*): sign the proof with one of them, or allow the client's algorithm (dpop.algorithms)`,
    ],
    [
      'jwk missing',
      () => ({ header: { jwk: undefined } }),
      'the header has no jwk',
      "put the client's public key in the proof header as jwk (RFC 9449 §4.2): the API checks the signature with it",
    ],
    [
      'jwk with a private key',
      () => ({ header: { jwk: { ...client.publicJwk, d: 'AAAA' } } }),
      'the jwk holds a private key',
      "the proof header's jwk holds private key members (d, p, q, ...): the client publishes its private key with every request. Embed the public key only, and replace this key pair",
    ],
    [
      'htm',
      () => ({ method: 'POST' }),
      "htm 'POST' is not the method 'GET'",
      `the proof was made for method "POST", the request is "GET" (--method): make a new proof for every request, with htm the request's method (case-sensitive)`,
    ],
    [
      'htu, another path',
      () => ({ url: 'https://api.example.com/invoices?id=1' }),
      "htu 'https://api.example.com/invoices?id=1' is not this request's URL",
      `the proof was made for htu "https://api.example.com/invoices?id=1", the request URL is "${URL_}" (--url); they are compared without query and fragment, after normalisation (RFC 9449 §4.3). The paths differ: the client made the proof for another endpoint`,
    ],
    [
      'htu, another origin',
      () => ({ url: 'http://10.0.0.7:8080/orders' }),
      "htu 'http://10.0.0.7:8080/orders' is not this request's URL",
      `the proof was made for htu "http://10.0.0.7:8080/orders", the request URL is "${URL_}" (--url); they are compared without query and fragment, after normalisation (RFC 9449 §4.3). The origins differ: behind a proxy or a load balancer the API must know the URL clients use (http.baseUrl, or http.trustProxy for a trusted proxy that sets X-Forwarded-Proto and -Host); else the client made the proof for another host`,
    ],
    [
      'ath of another token',
      () => ({ accessToken: 'another.access.token' }),
      'ath is not the hash of the access token',
      "the proof's ath is not the base64url SHA-256 of this token (RFC 9449 §4.2): the proof was made for another access token, or the hash was taken over something else (the whole header, padding)",
    ],
    [
      'ath missing',
      () => ({ accessToken: undefined }),
      'ath is missing',
      'the proof has no ath: with an access token, a proof must carry ath, the base64url SHA-256 of the token (RFC 9449 §4.2)',
    ],
    [
      'signature',
      () => ({ signWith: stranger.privateKey }),
      'the signature does not verify with the jwk',
      'the proof was not signed by the private key of its jwk, or was changed after it was signed',
    ],
  ]

  it.each(rows)(
    '%s: exit 1, the check that failed and both values',
    async (_, options, detail, hint) => {
      const token = await dpopToken()
      const proof = await client.proof({
        method: 'GET',
        url: URL_,
        accessToken: token,
        ...(await options(token)),
      })
      const { status, out } = await inspect(token, '--dpop-proof', proof, '--url', URL_)
      expect(status).toBe(1)
      expect(out).toContain(failure('binding', `${PROOF}: ${detail}`, hint))
      expect(out).toMatch(/\nrejected: 401 invalid_dpop_proof\n$/)
      expect(out).not.toContain(token)
      expect(out).not.toContain(proof)
    },
  )

  it.each([
    [
      'older than the window',
      -600,
      'iat is older than 300 seconds',
      '600 seconds before this check',
    ],
    ['ahead of the clock', 600, 'iat is in the future', '600 seconds after this check'],
  ])('iat %s: when it was made and the window', async (_, offset, detail, when) => {
    const token = await dpopToken()
    // The provider's token is dated now: the clock stands still from here, so the age is exact.
    const now = Math.floor(Date.now() / 1000)
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(now * 1000)
    const iat = now + offset
    const proof = await client.proof({ method: 'GET', url: URL_, accessToken: token, iat })
    const { status, out } = await inspect(token, '--dpop-proof', proof, '--url', URL_)
    expect(status).toBe(1)
    const made = new Date(iat * 1000).toISOString().replace('.000Z', 'Z')
    expect(out).toContain(
      failure(
        'binding',
        `${PROOF}: ${detail}`,
        `the proof was made at ${made} (${when}); by default a proof is accepted up to 300 seconds old and 60 seconds ahead (dpop.iatWindowSeconds, dpop.clockToleranceSeconds): make a fresh proof for every request, and check the client's clock`,
      ),
    )
  })

  it('--json: the failed step with its code, detail and hint, and the proof decoded', async () => {
    const token = await dpopToken()
    const proof = await client.proof({ method: 'DELETE', url: URL_, accessToken: token })
    const { status, out } = await inspect(token, '--dpop-proof', proof, '--url', URL_, '--json')
    expect(status).toBe(1)
    const report = JSON.parse(out) as {
      valid: boolean
      steps: { check: string }[]
      proof: { header: Record<string, unknown>; claims: Record<string, unknown> }
    }
    expect(report.valid).toBe(false)
    expect(report.steps.find((step) => step.check === 'binding')).toEqual({
      check: 'binding',
      ok: false,
      code: 'invalid_dpop_proof',
      status: 401,
      description: "The DPoP proof is invalid: htm 'DELETE' is not the method 'GET'",
      hint: `the proof was made for method "DELETE", the request is "GET" (--method): make a new proof for every request, with htm the request's method (case-sensitive)`,
    })
    expect(report.proof.header).toEqual({ typ: 'dpop+jwt', alg: 'ES256', jwk: client.publicJwk })
    expect(report.proof.claims).toMatchObject({ htm: 'DELETE', htu: URL_ })
    expect(out).not.toContain(token)
    expect(out).not.toContain(proof)
  })

  it('a value that is not a proof: exit 1, what --dpop-proof takes', async () => {
    const token = await dpopToken()
    const { status, out } = await inspect(token, '--dpop-proof', 'not-a-proof', '--url', URL_)
    expect(status).toBe(1)
    expect(out).toContain(
      failure(
        'binding',
        `${PROOF}: the proof is not a compact JWS`,
        '--dpop-proof must be the DPoP header value as sent: one signed JWT (three base64url parts separated by dots), at most 8 KiB',
      ),
    )
  })

  it('a replayed proof (§11.1): the hint of the second use, from a real validator', async () => {
    const token = await dpopToken()
    const proof = await client.proof({ method: 'GET', url: URL_, accessToken: token })
    const validator = createValidator({ issuer: issuer.issuer, audience: issuer.resource })
    const request = { method: 'GET', url: URL_, headers: { dpop: proof } }
    try {
      expect((await validator.inspect(token, undefined, request)).valid).toBe(true)
      const second = await validator.inspect(token, undefined, request)
      const step = second.steps.find((s) => s.check === 'binding')
      expect(step?.error?.description).toBe('The DPoP proof is invalid: the proof was used before')
      expect(
        hintFor(step!.error!.code, {
          claims: second.claims,
          trusted: [issuer.resource],
          required: [],
          strict: false,
          issuer: [issuer.issuer],
          error: step!.error!,
        }),
      ).toBe(
        'a proof is single-use (RFC 9449 §11.1): the client sent this proof (same key, URL and jti) before. Make a new proof with a fresh jti for every request, retries included',
      )
    } finally {
      await validator.close()
    }
  })
})

describe('the token binding (RFC 9449 §6, RFC 8705 §3)', () => {
  it('passes a DPoP-bound token with its proof: exit 0, the key that was proven', async () => {
    const token = await dpopToken()
    const proof = await client.proof({ method: 'POST', url: URL_, accessToken: token })
    const { status, out } = await inspect(
      token,
      '--dpop-proof',
      proof,
      '--method',
      'POST',
      '--url',
      `${URL_}?page=2`,
    )
    expect(status).toBe(0)
    expect(out).toContain(`\npass  binding       the DPoP proof's key is cnf.jkt ${client.jkt}\n`)
    expect(out).toMatch(/\nvalid\n$/)
    expect(out).not.toContain(token)
  })

  it('a DPoP-bound token sent without a proof (as Bearer): exit 1, how to send it', async () => {
    const token = await dpopToken()
    const { status, out } = await inspect(token)
    expect(status).toBe(1)
    expect(out).toContain(
      failure(
        'binding',
        `${BINDING}: the token is DPoP-bound: it must come with the DPoP scheme and a proof`,
        `the token is DPoP-bound (cnf.jkt "${client.jkt}"): send it as "Authorization: DPoP <token>" with a DPoP proof signed by that key, never as Bearer (RFC 9449 §7.2); give the DPoP header value with --dpop-proof, and the request with --method and --url`,
      ),
    )
    expect(out).toMatch(/\nrejected: 401 invalid_token_binding\n$/)
  })

  it("a proof signed by another key than cnf.jkt's: both thumbprints", async () => {
    const token = await dpopToken()
    const proof = await stranger.proof({ method: 'GET', url: URL_, accessToken: token })
    const { status, out } = await inspect(token, '--dpop-proof', proof, '--url', URL_)
    expect(status).toBe(1)
    expect(stranger.jkt).not.toBe(client.jkt)
    expect(out).toContain(
      failure(
        'binding',
        `${BINDING}: the DPoP proof key is not the one of cnf.jkt`,
        `the proof is signed by the key with thumbprint "${stranger.jkt}", the token is bound to cnf.jkt "${client.jkt}": the client must sign its proofs with the key pair it used when it got the token`,
      ),
    )
  })

  it('a proof with a token that is not DPoP-bound', async () => {
    const { token } = await issuer.issueToken()
    const proof = await client.proof({ method: 'GET', url: URL_, accessToken: token })
    const { status, out } = await inspect(token, '--dpop-proof', proof, '--url', URL_)
    expect(status).toBe(1)
    expect(out).toContain(
      failure(
        'binding',
        `${BINDING}: the token is not DPoP-bound (no cnf.jkt)`,
        'the token came with a DPoP proof but has no cnf.jkt: send it as Bearer, or have the client send a DPoP proof with its token request so the issuer binds the token to its key',
      ),
    )
  })

  it('passes a certificate-bound token with its certificate (--cert, PEM): exit 0', async () => {
    const { token } = await issuer.issueToken({ certificate: alice.pem })
    const { status, out } = await inspect(token, '--cert', join(folder, 'alice.pem'))
    expect(status).toBe(0)
    expect(out).toContain(
      `\npass  binding       the client certificate is cnf x5t#S256 ${thumbprint(alice)}\n`,
    )
    expect(out).toMatch(/\nvalid\n$/)
  })

  it('the built binary reads the certificate file too', async () => {
    const { token } = await issuer.issueToken({ certificate: alice.pem })
    const { status, out, err } = await runBinary(
      [
        'inspect',
        '-',
        '--issuer',
        issuer.issuer,
        '--audience',
        issuer.resource,
        '--cert',
        join(folder, 'alice.pem'),
      ],
      token,
    )
    expect({ status, err }).toEqual({ status: 0, err: '' })
    expect(out).toContain(
      `\npass  binding       the client certificate is cnf x5t#S256 ${thumbprint(alice)}\n`,
    )
  })

  it('another certificate (--cert, DER): both thumbprints', async () => {
    const { token } = await issuer.issueToken({ certificate: alice.pem })
    const { status, out } = await inspect(token, '--cert', join(folder, 'bob.der'))
    expect(status).toBe(1)
    expect(out).toContain(
      failure(
        'binding',
        `${BINDING}: the client certificate is not the one of cnf x5t#S256`,
        `the token is bound to the certificate with thumbprint "${thumbprint(alice)}" (cnf x5t#S256), the client certificate's is "${thumbprint(bob)}" (--cert): the client presented another certificate than the one its token was issued to (RFC 8705 §3.1)`,
      ),
    )
    expect(out).toMatch(/\nrejected: 401 invalid_token_binding\n$/)
  })

  it('no certificate: how the API receives one', async () => {
    const { token } = await issuer.issueToken({ certificate: alice.pem })
    const { status, out } = await inspect(token)
    expect(status).toBe(1)
    expect(out).toContain(
      failure(
        'binding',
        `${BINDING}: the token is certificate-bound and the request has no client certificate`,
        `the token is bound to a client certificate (cnf x5t#S256 "${thumbprint(alice)}"): the request must come over mutual TLS with that certificate (RFC 8705 §3), or through a TLS-terminating proxy that passes it in the header named by http.clientCertificateHeader; give it with --cert (or --cert-thumbprint)`,
      ),
    )
  })

  it.each([
    ['base64url', (c: CertifiedKey) => thumbprint(c)],
    [
      'hex, as openssl prints it',
      (c: CertifiedKey) => `sha256 Fingerprint=${c.x509.fingerprint256}`,
    ],
  ])('--cert-thumbprint (%s): another one shows both; the right one passes', async (_, form) => {
    const { token } = await issuer.issueToken({ certificate: alice.pem })
    const other = await inspect(token, '--cert-thumbprint', form(bob))
    expect(other.status).toBe(1)
    expect(other.out).toContain(
      failure(
        'binding',
        `${BINDING}: the client certificate is not the one of cnf x5t#S256`,
        `the token is bound to the certificate with thumbprint "${thumbprint(alice)}" (cnf x5t#S256), the client certificate's is "${thumbprint(bob)}" (--cert-thumbprint): the client presented another certificate than the one its token was issued to (RFC 8705 §3.1)`,
      ),
    )
    // A thumbprint stands for its certificate (RFC 8705 §3.1): the right one satisfies the binding.
    const same = await inspect(token, '--cert-thumbprint', form(alice))
    expect(same.status).toBe(0)
    expect(same.out).toContain(
      `\npass  binding       the client certificate is cnf x5t#S256 ${thumbprint(alice)}\n`,
    )
  })
})

describe('step-up requirements (RFC 9470 §3)', () => {
  it('passes a token whose acr and auth_time the route accepts: exit 0', async () => {
    const authTime = Math.floor(Date.now() / 1000) - 10
    const { token } = await issuer.issueToken({ acr: 'urn:mfa', authTime })
    const { status, out } = await inspect(token, '--acr', 'urn:hwk,urn:mfa', '--max-age', '300')
    expect(status).toBe(0)
    expect(out).toContain(
      `\npass  requirements  roles {}, scopes [], acr "urn:mfa", auth_time ${new Date(authTime * 1000).toISOString()}\n`,
    )
  })

  const AGAIN = 'the user must log in again, the client asking the authorization server for'
  it.each([
    [
      'another acr',
      { acr: 'urn:pwd' },
      ['--acr', 'urn:mfa', '--acr', 'urn:hwk'],
      "acr 'urn:pwd' is not one of the accepted values",
      `the token's acr is "urn:pwd", the route requires "urn:mfa" or "urn:hwk": ${AGAIN} acr_values=urn:mfa urn:hwk (RFC 9470 §4)`,
    ],
    [
      'no acr',
      {},
      ['--acr', 'urn:mfa'],
      'the token has no acr',
      `the route requires acr urn:mfa, the token has no acr claim: ${AGAIN} acr_values=urn:mfa (RFC 9470 §4), and the issuer must put acr in its access tokens`,
    ],
    [
      'no auth_time',
      {},
      ['--max-age', '60'],
      'the token has no auth_time',
      'the route requires a login at most 60 seconds old and the token has no auth_time claim: the issuer must put auth_time in its access tokens',
    ],
  ])('%s: exit 1, the token against the route', async (_, claims, args, detail, hint) => {
    const { token } = await issuer.issueToken(claims)
    const { status, out } = await inspect(token, ...args)
    expect(status).toBe(1)
    expect(out).toContain(failure('requirements', `${STEP_UP}: ${detail}`, hint))
    expect(out).toMatch(/\nrejected: 401 insufficient_user_authentication\n$/)
  })

  it('a login older than --max-age: when it was, and how old', async () => {
    const now = Math.floor(Date.now() / 1000)
    const authTime = now - 3600
    const { token } = await issuer.issueToken({ acr: 'urn:mfa', authTime })
    // The clock stands still at `now` from here, so the age is exact.
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(now * 1000)
    const { status, out } = await inspect(token, '--acr', 'urn:mfa', '--max-age', '60')
    expect(status).toBe(1)
    expect(out).toContain(
      failure(
        'requirements',
        `${STEP_UP}: the user authenticated 3600 seconds ago, more than 60`,
        `the user logged in at ${new Date(authTime * 1000).toISOString().replace('.000Z', 'Z')}, 3600 seconds before this check; the route accepts 60 seconds: ${AGAIN} acr_values=urn:mfa&max_age=60 (RFC 9470 §4)`,
      ),
    )
  })
})
