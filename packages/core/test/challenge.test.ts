// The second version's error codes and the challenges they answer with: the DPoP challenge of
// RFC 9449 §7.1 beside (or instead of) Bearer, where the error parameters go (§7.2, Figures 17
// to 19), and the step-up parameters of RFC 9470 §3. Without a DPoP challenge every answer is the
// first version's single Bearer challenge (errors.test.ts).
import { describe, expect, it } from 'vitest'
import {
  ERROR_CODES,
  TokenwardError,
  toHttpResponse,
  type TokenwardErrorCode,
} from '@tokenward/core'
import type { AuthScheme, DpopChallenge, TokenwardErrorOptions } from '../src/errors.js'

const ALGS = ['ES256', 'PS256']
const BOTH: DpopChallenge = { algs: ALGS }
const DPOP_ONLY: DpopChallenge = { algs: ALGS, bearer: false }

/** The challenge of an error whose token came with `scheme` (undefined: it cannot be told). */
function challengeOf(
  code: TokenwardErrorCode,
  options: TokenwardErrorOptions,
  scheme: AuthScheme | undefined,
): string | undefined {
  const error = new TokenwardError(code, options)
  error.scheme = scheme
  return error.wwwAuthenticate()
}

describe('new codes: status, error and description', () => {
  it.each<[TokenwardErrorCode, number, string, string]>([
    ['invalid_dpop_proof', 401, 'invalid_dpop_proof', 'The DPoP proof is invalid'],
    [
      'invalid_token_binding',
      401,
      'invalid_token',
      'The token is bound to a key or certificate this request does not prove',
    ],
    [
      'insufficient_user_authentication',
      401,
      'insufficient_user_authentication',
      'A different authentication level is required',
    ],
  ])('%s is %i with error %s', (code, status, error, description) => {
    expect(ERROR_CODES[code]).toMatchObject({ status, error })
    const rejection = new TokenwardError(code)
    expect([rejection.status, rejection.error, rejection.description]).toEqual([
      status,
      error,
      description,
    ])
    const response = toHttpResponse(rejection)
    expect(response.status).toBe(status)
    expect(response.body).toEqual({ error, error_description: description, code })
  })

  it('invalid_dpop_proof defaults to the DPoP scheme; every other code to Bearer', () => {
    expect(new TokenwardError('invalid_dpop_proof').scheme).toBe('DPoP')
    expect(new TokenwardError('invalid_token_binding').scheme).toBe('Bearer')
    expect(new TokenwardError('token_expired').scheme).toBe('Bearer')
    expect(new TokenwardError('token_expired', { scheme: 'DPoP' }).scheme).toBe('DPoP')
  })
})

describe('RFC 9449 §7.2: the Bearer and DPoP challenges in one field', () => {
  it.each<[string, TokenwardErrorCode, TokenwardErrorOptions, AuthScheme | undefined, string]>([
    // Figure 17: no credentials, no error information.
    [
      'no token',
      'missing_token',
      { dpop: BOTH },
      'Bearer',
      'Bearer realm="api", DPoP algs="ES256 PS256"',
    ],
    // Figure 18: the error on the challenge of the scheme the client used.
    [
      'a bad token sent as Bearer',
      'token_expired',
      { dpop: BOTH },
      'Bearer',
      'Bearer realm="api", error="invalid_token", error_description="The access token expired", DPoP algs="ES256 PS256"',
    ],
    [
      'a bad token sent as DPoP',
      'token_expired',
      { dpop: BOTH },
      'DPoP',
      'Bearer realm="api", DPoP error="invalid_token", error_description="The access token expired", algs="ES256 PS256"',
    ],
    // Figure 19: the scheme cannot be told, both challenges carry the error.
    [
      'two credentials',
      'invalid_request',
      { dpop: BOTH, detail: 'more than one Authorization header' },
      undefined,
      'Bearer realm="api", error="invalid_request", error_description="Malformed request: more than one Authorization header", DPoP error="invalid_request", error_description="Malformed request: more than one Authorization header", algs="ES256 PS256"',
    ],
    [
      'a bad proof',
      'invalid_dpop_proof',
      { dpop: BOTH, detail: 'iat is in the future' },
      'DPoP',
      'Bearer realm="api", DPoP error="invalid_dpop_proof", error_description="The DPoP proof is invalid: iat is in the future", algs="ES256 PS256"',
    ],
    [
      'a DPoP-bound token sent as Bearer',
      'invalid_token_binding',
      { dpop: BOTH, detail: 'x' },
      'Bearer',
      'Bearer realm="api", error="invalid_token", error_description="The token is bound to a key or certificate this request does not prove: x", DPoP algs="ES256 PS256"',
    ],
    [
      'a missing scope with a DPoP token',
      'insufficient_scope',
      { dpop: BOTH, scope: ['read'] },
      'DPoP',
      'Bearer realm="api", DPoP error="insufficient_scope", error_description="The token lacks a required scope", scope="read", algs="ES256 PS256"',
    ],
  ])('%s', (_name, code, options, scheme, expected) => {
    expect(challengeOf(code, options, scheme)).toBe(expected)
  })
})

describe('RFC 9449 §7.1: DPoP alone (Bearer not offered)', () => {
  it.each<[string, TokenwardErrorCode, TokenwardErrorOptions, AuthScheme | undefined, string]>([
    [
      'no token',
      'missing_token',
      { dpop: DPOP_ONLY },
      'Bearer',
      'DPoP realm="api", algs="ES256 PS256"',
    ],
    [
      'a plain bearer token',
      'invalid_token_binding',
      { dpop: DPOP_ONLY, detail: 'only DPoP-bound tokens are accepted' },
      'Bearer',
      'DPoP realm="api", error="invalid_token", error_description="The token is bound to a key or certificate this request does not prove: only DPoP-bound tokens are accepted", algs="ES256 PS256"',
    ],
    [
      'a key that does not match cnf.jkt (Figure 16)',
      'invalid_token_binding',
      { dpop: { algs: ['ES256'], bearer: false } },
      'DPoP',
      'DPoP realm="api", error="invalid_token", error_description="The token is bound to a key or certificate this request does not prove", algs="ES256"',
    ],
  ])('%s', (_name, code, options, scheme, expected) => {
    expect(challengeOf(code, options, scheme)).toBe(expected)
  })
})

describe('without a DPoP challenge: one Bearer challenge, as in the first version', () => {
  it.each<[string, TokenwardErrorCode, TokenwardErrorOptions, string]>([
    ['no token', 'missing_token', {}, 'Bearer realm="api"'],
    [
      'a DPoP-bound token where DPoP is disabled',
      'invalid_token_binding',
      {},
      'Bearer realm="api", error="invalid_token", error_description="The token is bound to a key or certificate this request does not prove"',
    ],
    [
      'a bad proof: the error goes on the only challenge',
      'invalid_dpop_proof',
      {},
      'Bearer realm="api", error="invalid_dpop_proof", error_description="The DPoP proof is invalid"',
    ],
  ])('%s', (_name, code, options, expected) => {
    expect(new TokenwardError(code, options).wwwAuthenticate()).toBe(expected)
  })

  it('the realm is the validator’s, on the first challenge', () => {
    const error = new TokenwardError('token_expired', { dpop: BOTH })
    error.realm = 'orders'
    expect(error.wwwAuthenticate()).toBe(
      'Bearer realm="orders", error="invalid_token", error_description="The access token expired", DPoP algs="ES256 PS256"',
    )
    error.dpop = DPOP_ONLY
    expect(error.wwwAuthenticate()).toMatch(/^DPoP realm="orders", error="invalid_token"/)
  })

  it('a 503 has no challenge, DPoP or not', () => {
    const error = new TokenwardError('upstream_unavailable', { dpop: BOTH })
    expect(error.wwwAuthenticate()).toBeUndefined()
    expect(toHttpResponse(error).headers).not.toHaveProperty('www-authenticate')
  })
})

describe('RFC 9470 §3: step-up parameters', () => {
  it.each<[string, TokenwardErrorOptions, AuthScheme, string]>([
    [
      'acr_values in preference order',
      { acrValues: ['urn:mace:incommon:iap:gold', 'mfa'] },
      'Bearer',
      'Bearer realm="api", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="urn:mace:incommon:iap:gold mfa"',
    ],
    [
      'max_age',
      { maxAge: 300 },
      'Bearer',
      'Bearer realm="api", error="insufficient_user_authentication", error_description="A different authentication level is required", max_age="300"',
    ],
    [
      'both, after the description',
      { acrValues: ['mfa'], maxAge: 60, detail: 'the token has no acr' },
      'Bearer',
      'Bearer realm="api", error="insufficient_user_authentication", error_description="A different authentication level is required: the token has no acr", acr_values="mfa", max_age="60"',
    ],
    [
      'on the DPoP challenge for a DPoP token',
      { acrValues: ['mfa'], dpop: BOTH },
      'DPoP',
      'Bearer realm="api", DPoP error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="mfa", algs="ES256 PS256"',
    ],
    [
      'a fractional max_age is whole seconds',
      { maxAge: 59.9 },
      'Bearer',
      'Bearer realm="api", error="insufficient_user_authentication", error_description="A different authentication level is required", max_age="59"',
    ],
    [
      'values outside the quoted-string set are dropped, empty ones left out',
      { acrValues: ['a"b', 'c\\d', ' ', 'é'] },
      'Bearer',
      'Bearer realm="api", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="ab cd"',
    ],
  ])('%s', (_name, options, scheme, expected) => {
    expect(challengeOf('insufficient_user_authentication', options, scheme)).toBe(expected)
  })

  it('carries the parameters as members too', () => {
    const error = new TokenwardError('insufficient_user_authentication', {
      acrValues: ['mfa'],
      maxAge: 60,
    })
    expect([error.acrValues, error.maxAge]).toEqual([['mfa'], 60])
  })

  it('algs values are sanitised like scope tokens', () => {
    expect(challengeOf('missing_token', { dpop: { algs: ['ES256', 'x"y', ''] } }, 'Bearer')).toBe(
      'Bearer realm="api", DPoP algs="ES256 xy"',
    )
  })
})
