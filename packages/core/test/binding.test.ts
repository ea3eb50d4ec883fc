// Sender-constrained tokens and step-up: the token's `cnf` against what the request proves (RFC
// 9449 §6, §7; RFC 8705 §3), and `acr` / `auth_time` against the route (RFC 9470 §3). One
// describe per rule; every refusal asserted with its code, status and exact challenge.
import { X509Certificate } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { TokenwardError, type Claims, type TokenwardErrorCode } from '@tokenward/core'
import {
  certificateThumbprint,
  checkAuthentication,
  checkBinding,
  dpopChallenge,
  type BindingPolicy,
  type Presentation,
} from '../src/binding.js'
import type { AuthScheme } from '../src/errors.js'
import type { ClientCertificate, DpopMode } from '../src/types.js'
import {
  createCertificateAuthority,
  type CertificateAuthority,
  type CertifiedKey,
} from './support/x509.js'
import { thrown } from './support/tokens.js'

const JKT = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I'
const OTHER_JKT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'
const ALGS = ['ES256', 'PS256']
const NOW = 1_700_000_000

const policy = (mode: DpopMode): BindingPolicy => ({ mode, algorithms: ALGS })

const DESCRIPTION: Partial<Record<TokenwardErrorCode, string>> = {
  invalid_token_binding: 'The token is bound to a key or certificate this request does not prove',
  invalid_dpop_proof: 'The DPoP proof is invalid',
  insufficient_user_authentication: 'A different authentication level is required',
}

/**
 * The challenge of a refusal: the error parameters on the challenge of `scheme`; the DPoP
 * challenge (`algs`) beside Bearer in 'allowed' mode, alone in 'required' mode, absent in
 * 'disabled' mode.
 */
function challenge(
  mode: DpopMode,
  scheme: AuthScheme,
  error: string,
  description: string,
  extra = '',
): string {
  const parameters = `error="${error}", error_description="${description}"${extra}`
  const algs = `algs="${ALGS.join(' ')}"`
  if (mode === 'disabled') return `Bearer realm="api", ${parameters}`
  if (mode === 'required') return `DPoP realm="api", ${parameters}, ${algs}`
  return scheme === 'Bearer'
    ? `Bearer realm="api", ${parameters}, DPoP ${algs}`
    : `Bearer realm="api", DPoP ${parameters}, ${algs}`
}

/**
 * Runs the binding check: it passes (`detail` null), or refuses with invalid_token_binding, 401,
 * on the challenge of the scheme the token came with.
 */
function expectBinding(
  claims: Claims,
  presented: Presentation,
  mode: DpopMode,
  detail: string | null,
): void {
  const run = () => {
    checkBinding(claims, presented, policy(mode))
  }
  if (detail === null) {
    expect(run).not.toThrow()
    return
  }
  const error = thrown(run)
  expect([error.code, error.status, error.error, error.scheme]).toEqual([
    'invalid_token_binding',
    401,
    'invalid_token',
    presented.scheme,
  ])
  expect(error.wwwAuthenticate()).toBe(
    challenge(
      mode,
      presented.scheme,
      'invalid_token',
      `${DESCRIPTION.invalid_token_binding!}: ${detail}`,
    ),
  )
}

const MODES: readonly DpopMode[] = ['disabled', 'allowed', 'required']
const bound = (jkt: unknown = JKT): Claims => ({ sub: 'user-1', cnf: { jkt } })
const dpop = (jkt = JKT): Presentation => ({ scheme: 'DPoP', proof: { jkt } })
const BEARER: Presentation = { scheme: 'Bearer' }

describe('the DPoP challenge of each mode', () => {
  it.each<[DpopMode, ReturnType<typeof dpopChallenge>]>([
    ['disabled', undefined],
    ['allowed', { algs: ALGS, bearer: true }],
    ['required', { algs: ALGS, bearer: false }],
  ])('%s', (mode, expected) => {
    expect(dpopChallenge(policy(mode))).toEqual(expected)
  })
})

describe('RFC 9449 §7.2: a DPoP-bound token sent as a bearer token is refused, in every mode', () => {
  it.each(MODES)('%s', (mode) => {
    expectBinding(
      bound(),
      BEARER,
      mode,
      'the token is DPoP-bound: it must come with the DPoP scheme and a proof',
    )
  })

  it('the same for an introspection answer carrying cnf.jkt (RFC 9449 §6.2, Figure 11)', () => {
    const answer: Claims = {
      active: true,
      sub: 'someone@example.com',
      iss: 'https://server.example.com',
      nbf: 1562262611,
      exp: 1562266216,
      cnf: { jkt: JKT },
    }
    expectBinding(answer, dpop(), 'allowed', null)
    expectBinding(
      answer,
      BEARER,
      'allowed',
      'the token is DPoP-bound: it must come with the DPoP scheme and a proof',
    )
  })
})

describe('RFC 9449 §4.3 check 12, §7.1: the proof key is the one of cnf.jkt', () => {
  it.each<[DpopMode]>([['allowed'], ['required']])('%s: the matching key is accepted', (mode) => {
    expectBinding(bound(), dpop(), mode, null)
  })

  it.each<[DpopMode]>([['allowed'], ['required']])(
    '%s: another key is refused on the DPoP challenge (Figure 16)',
    (mode) => {
      expectBinding(bound(), dpop(OTHER_JKT), mode, 'the DPoP proof key is not the one of cnf.jkt')
    },
  )

  it('no proof with the DPoP scheme: invalid_dpop_proof', () => {
    const error = thrown(() => {
      checkBinding(bound(), { scheme: 'DPoP' }, policy('allowed'))
    })
    expect([error.code, error.status, error.error, error.scheme]).toEqual([
      'invalid_dpop_proof',
      401,
      'invalid_dpop_proof',
      'DPoP',
    ])
    expect(error.wwwAuthenticate()).toBe(
      challenge(
        'allowed',
        'DPoP',
        'invalid_dpop_proof',
        'The DPoP proof is invalid: the request has no DPoP proof',
      ),
    )
  })

  it.each<[string, unknown]>([
    ['a number', 42],
    ['empty', ''],
    ['a list', [JKT]],
  ])('cnf.jkt %s: refused', (_name, jkt) => {
    expectBinding(bound(jkt), dpop(), 'allowed', 'cnf.jkt is not a thumbprint')
  })
})

describe('a token without cnf.jkt', () => {
  it.each<[DpopMode, Presentation, string | null]>([
    ['disabled', BEARER, null],
    ['allowed', BEARER, null],
    ['required', BEARER, 'only DPoP-bound tokens are accepted'],
    ['allowed', dpop(), 'the token is not DPoP-bound (no cnf.jkt)'],
    ['required', dpop(), 'the token is not DPoP-bound (no cnf.jkt)'],
  ])('%s mode, %o', (mode, presented, detail) => {
    expectBinding({ sub: 'user-1' }, presented, mode, detail)
  })
})

describe('cnf that names no method this API checks: refused (fail closed)', () => {
  it.each<[string, unknown, string]>([
    ['a string', 'x', 'cnf is not an object'],
    ['null', null, 'cnf is not an object'],
    ['a list', [{ jkt: JKT }], 'cnf is not an object'],
    ['empty', {}, 'cnf names no confirmation method this API checks (jkt, x5t#S256)'],
    [
      'a jwk (RFC 7800 §3.2)',
      { jwk: { kty: 'EC' } },
      'cnf names no confirmation method this API checks (jkt, x5t#S256)',
    ],
    [
      'a SHA-1 x5t',
      { x5t: 'abc' },
      'cnf names no confirmation method this API checks (jkt, x5t#S256)',
    ],
  ])('%s', (_name, cnf, detail) => {
    expectBinding({ cnf }, BEARER, 'allowed', detail)
  })
})

// Made once, while the tables are built: P-256 keys cost little.
const ca: CertificateAuthority = createCertificateAuthority()
const alice: CertifiedKey = ca.issueClient('alice')
const bob: CertifiedKey = ca.issueClient('bob')

/** RFC 8705 §3.1 from Node's own SHA-256 fingerprint (hex with colons) of the certificate. */
function fingerprintThumbprint(certificate: X509Certificate): string {
  return Buffer.from(certificate.fingerprint256.replaceAll(':', ''), 'hex').toString('base64url')
}

describe('RFC 8705 §3.1: the certificate thumbprint, from every form a certificate comes in', () => {
  it.each<[string, () => ClientCertificate]>([
    ['DER bytes', () => alice.der],
    ['DER in a plain Uint8Array', () => new Uint8Array(alice.der)],
    ['PEM text', () => alice.pem],
    ['PEM with CRLF line ends', () => alice.pem.replaceAll('\n', '\r\n')],
    ['a PEM chain (the first certificate is the client’s)', () => `${alice.pem}${ca.pem}`],
    ['an X509Certificate', () => new X509Certificate(alice.der)],
    ['a tls.PeerCertificate (raw)', () => ({ raw: alice.der })],
    ['the thumbprint a proxy forwards', () => ({ thumbprint: fingerprintThumbprint(alice.x509) })],
  ])('%s', (_name, certificate) => {
    expect(certificateThumbprint(certificate())).toBe(fingerprintThumbprint(alice.x509))
  })

  it.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
    ['no peer certificate (Node answers {})', {}],
    ['empty bytes', new Uint8Array(0)],
    ['text without a certificate', 'not a certificate'],
    ['a thumbprint that is not 43 base64url characters', { thumbprint: 'abc' }],
    ['a hex thumbprint (not base64url)', { thumbprint: 'ab'.repeat(32) }],
  ])('%s: none', (_name, certificate) => {
    expect(certificateThumbprint(certificate as ClientCertificate)).toBeUndefined()
  })
})

describe('RFC 8705 §3: cnf["x5t#S256"] is the thumbprint of the client certificate', () => {
  const certBound = (): Claims => ({
    sub: 'client-1',
    cnf: { 'x5t#S256': fingerprintThumbprint(alice.x509) },
  })

  it.each<[string, () => ClientCertificate]>([
    ['DER', () => alice.der],
    ['PEM', () => alice.pem],
    ['X509Certificate', () => alice.x509],
    ['PeerCertificate', () => ({ raw: alice.der })],
    ['thumbprint', () => ({ thumbprint: fingerprintThumbprint(alice.x509) })],
  ])('the certificate the token is bound to (%s) is accepted, as Bearer', (_name, certificate) => {
    expectBinding(
      certBound(),
      { scheme: 'Bearer', clientCertificate: certificate() },
      'allowed',
      null,
    )
  })

  it.each(MODES.filter((mode) => mode !== 'required'))(
    '%s: another certificate from the same CA is refused',
    (mode) => {
      expectBinding(
        certBound(),
        { scheme: 'Bearer', clientCertificate: bob.der },
        mode,
        'the client certificate is not the one of cnf x5t#S256',
      )
    },
  )

  it('no client certificate: refused', () => {
    expectBinding(
      certBound(),
      BEARER,
      'allowed',
      'the token is certificate-bound and the request has no client certificate',
    )
  })

  it.each<[string, unknown]>([
    ['a number', 1],
    ['empty', ''],
  ])('cnf x5t#S256 %s: refused', (_name, x5t) => {
    expectBinding(
      { cnf: { 'x5t#S256': x5t } },
      { scheme: 'Bearer', clientCertificate: alice.der },
      'allowed',
      'cnf x5t#S256 is not a thumbprint',
    )
  })

  it('required mode: a certificate-bound token still needs DPoP (DPoP-bound tokens only)', () => {
    expectBinding(
      certBound(),
      { scheme: 'Bearer', clientCertificate: alice.der },
      'required',
      'only DPoP-bound tokens are accepted',
    )
  })
})

describe('cnf with both jkt and x5t#S256: both are checked', () => {
  const both = (): Claims => ({
    cnf: { jkt: JKT, 'x5t#S256': fingerprintThumbprint(alice.x509) },
  })

  it.each<[string, Presentation, string | null]>([
    [
      'proof and certificate',
      { scheme: 'DPoP', proof: { jkt: JKT }, clientCertificate: alice.der },
      null,
    ],
    [
      'proof, another certificate',
      { scheme: 'DPoP', proof: { jkt: JKT }, clientCertificate: bob.der },
      'the client certificate is not the one of cnf x5t#S256',
    ],
    [
      'certificate, another key',
      { scheme: 'DPoP', proof: { jkt: OTHER_JKT }, clientCertificate: alice.der },
      'the DPoP proof key is not the one of cnf.jkt',
    ],
    [
      'certificate, as Bearer',
      { scheme: 'Bearer', clientCertificate: alice.der },
      'the token is DPoP-bound: it must come with the DPoP scheme and a proof',
    ],
  ])('%s', (_name, presented, detail) => {
    expectBinding(both(), presented, 'allowed', detail)
  })
})

describe('RFC 9470 §3: step-up (acr any of, maxAge on auth_time)', () => {
  const MFA = 'urn:example:mfa'
  const PWD = 'urn:example:pwd'
  const stepUp = (detail: string, parameters: string): string =>
    `Bearer realm="api", error="insufficient_user_authentication", error_description="${DESCRIPTION.insufficient_user_authentication!}: ${detail}"${parameters}`

  it.each<[string, Claims, { acr?: string[]; maxAge?: number }, string | null, string]>([
    ['no requirement', {}, {}, null, ''],
    ['an empty acr list is no requirement', {}, { acr: [] }, null, ''],
    ['an accepted acr', { acr: MFA }, { acr: [MFA, PWD] }, null, ''],
    ['the other accepted acr', { acr: PWD }, { acr: [MFA, PWD] }, null, ''],
    [
      'another acr',
      { acr: 'urn:example:none' },
      { acr: [MFA] },
      "acr 'urn:example:none' is not one of the accepted values",
      `, acr_values="${MFA}"`,
    ],
    ['no acr', {}, { acr: [MFA, PWD] }, 'the token has no acr', `, acr_values="${MFA} ${PWD}"`],
    [
      'an acr that is not a string',
      { acr: [MFA] },
      { acr: [MFA] },
      'acr a list is not one of the accepted values',
      `, acr_values="${MFA}"`,
    ],
    ['authenticated 60 seconds ago, maxAge 60', { auth_time: NOW - 60 }, { maxAge: 60 }, null, ''],
    [
      'authenticated 61 seconds ago, maxAge 60',
      { auth_time: NOW - 61 },
      { maxAge: 60 },
      'the user authenticated 61 seconds ago, more than 60',
      ', max_age="60"',
    ],
    ['no auth_time', {}, { maxAge: 60 }, 'the token has no auth_time', ', max_age="60"'],
    [
      'auth_time as text',
      { auth_time: String(NOW) },
      { maxAge: 60 },
      'the token has no auth_time',
      ', max_age="60"',
    ],
    ['maxAge 0, authenticated now', { auth_time: NOW }, { maxAge: 0 }, null, ''],
    ['both met', { acr: MFA, auth_time: NOW - 10 }, { acr: [MFA], maxAge: 60 }, null, ''],
    [
      'acr met, too old: both parameters sent',
      { acr: MFA, auth_time: NOW - 100 },
      { acr: [MFA], maxAge: 60 },
      'the user authenticated 100 seconds ago, more than 60',
      `, acr_values="${MFA}", max_age="60"`,
    ],
    [
      'fresh, wrong acr: both parameters sent',
      { acr: PWD, auth_time: NOW },
      { acr: [MFA], maxAge: 60 },
      `acr '${PWD}' is not one of the accepted values`,
      `, acr_values="${MFA}", max_age="60"`,
    ],
  ])('%s', (_name, claims, requirements, detail, parameters) => {
    const run = () => {
      checkAuthentication(claims, requirements, { now: NOW })
    }
    if (detail === null) {
      expect(run).not.toThrow()
      return
    }
    const error = thrown(run)
    expect([error.code, error.status, error.error]).toEqual([
      'insufficient_user_authentication',
      401,
      'insufficient_user_authentication',
    ])
    expect(error.wwwAuthenticate()).toBe(stepUp(detail, parameters))
  })

  it('the clock tolerance extends maxAge', () => {
    const claims = { auth_time: NOW - 65 }
    expect(() => {
      checkAuthentication(claims, { maxAge: 60 }, { now: NOW, clockToleranceSeconds: 5 })
    }).not.toThrow()
    expect(() => {
      checkAuthentication(claims, { maxAge: 60 }, { now: NOW, clockToleranceSeconds: 4 })
    }).toThrow(TokenwardError)
  })

  it('a DPoP token: the parameters go on the DPoP challenge', () => {
    const error = thrown(() => {
      checkAuthentication({}, { acr: [MFA] }, { now: NOW })
    })
    error.scheme = 'DPoP'
    error.dpop = { algs: ALGS }
    expect(error.wwwAuthenticate()).toBe(
      `Bearer realm="api", DPoP error="insufficient_user_authentication", error_description="${DESCRIPTION.insufficient_user_authentication!}: the token has no acr", acr_values="${MFA}", algs="ES256 PS256"`,
    )
  })
})
