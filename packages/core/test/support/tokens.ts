// Test helpers: keys and tokens minted with jose, a frozen clock, error assertions and a spy
// logger. Tokens reach the validator through a static key set (`jwks: { keys: [publicJwk] }`):
// no network. The one home of these helpers: the root test/ imports them from here too.
import {
  CompactSign,
  SignJWT,
  exportJWK,
  generateKeyPair,
  type CryptoKey,
  type JWK,
  type JWSAlgorithm,
} from 'jose'
import { expect, vi, type Mock } from 'vitest'
import {
  createValidator,
  toHttpResponse,
  type Logger,
  type TokenwardError,
  type Validator,
  type ValidatorOptions,
} from '@tokenward/core'

/** The configured issuer of most tests. */
export const ISSUER = 'https://issuer.example.com'
/** This API's audience in most tests. */
export const AUDIENCE = 'https://api.example.com'
/** The frozen "now", Unix seconds (an integer: boundaries are exact). */
export const NOW = 1_700_000_000

/** A signing key and the public JWK the validator is given. */
export interface TestKey {
  readonly alg: JWSAlgorithm
  readonly kid: string
  readonly privateKey: CryptoKey
  readonly publicJwk: JWK
}

export async function createKey(alg: JWSAlgorithm = 'ES256', kid = 'key-1'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const publicJwk = { ...(await exportJWK(publicKey)), kid }
  return { alg, kid, privateKey, publicJwk }
}

/** Valid access-token claims at {@link NOW}; `undefined` in `overrides` removes a claim. */
export function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { iss: ISSUER, sub: 'user-1', aud: AUDIENCE, exp: NOW + 3600, iat: NOW, ...overrides }
}

/**
 * A JWT signed with `key` (header `{ alg, kid, typ: 'JWT' }` plus `header`; a header member set
 * to `undefined` is left out).
 */
export function mint(
  key: TestKey,
  payload: Record<string, unknown> = claims(),
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })
    .sign(key.privateKey)
}

/**
 * A JWS with any protected header and any payload bytes (not necessarily a JSON object),
 * properly signed with `key`. Critical extensions are declared to jose so it signs them as given.
 */
export function signRaw(
  key: TestKey,
  header: Record<string, unknown>,
  payload: string,
): Promise<string> {
  const crit = Array.isArray(header.crit)
    ? Object.fromEntries((header.crit as string[]).map((name) => [name, true]))
    : undefined
  return new CompactSign(new TextEncoder().encode(payload))
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
    .sign(key.privateKey, crit === undefined ? undefined : { crit })
}

/** `base64url(header).base64url(payload).` with an empty signature (e.g. `alg: none`). */
export function unsigned(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
): string {
  const encode = (value: unknown): string =>
    Buffer.from(JSON.stringify(value), 'utf8').toString('base64url')
  return `${encode(header)}.${encode(payload)}.`
}

/** A validator for {@link ISSUER} / {@link AUDIENCE} with `keys` as a static key set. */
export function validatorFor(
  keys: TestKey | readonly TestKey[],
  options: Partial<ValidatorOptions> = {},
): Validator {
  const list = Array.isArray(keys) ? keys : [keys as TestKey]
  return createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwks: { keys: list.map((key) => key.publicJwk) },
    ...options,
  })
}

/** Freezes `Date` (only `Date`: jose and the validator read the time through it) at `seconds`. */
export function freezeTime(seconds: number = NOW): void {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(seconds * 1000)
}

/** The rejection of `promise`; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<TokenwardError> {
  let settled: unknown
  try {
    settled = await promise
  } catch (error) {
    return error as TokenwardError
  }
  throw new Error(`expected a rejection, got ${JSON.stringify(settled)}`)
}

/** What `fn` throws synchronously; fails the test when it returns. */
export function thrown(fn: () => unknown): TokenwardError {
  try {
    fn()
  } catch (error) {
    return error as TokenwardError
  }
  throw new Error('expected a throw')
}

/** The RFC 6750 error of each code (the README's error table). */
const BEARER_ERROR: Readonly<Record<string, string | undefined>> = {
  missing_token: undefined,
  invalid_request: 'invalid_request',
  insufficient_scope: 'insufficient_scope',
  insufficient_role: 'insufficient_scope',
  upstream_unavailable: undefined,
}

/**
 * Asserts a rejection's `code` and `status`, the RFC 6750 `error` that goes with the code, and a
 * challenge that carries exactly that error (with `realm`).
 */
export function expectFailure(
  error: unknown,
  code: string,
  status: number,
  realm = 'api',
): asserts error is TokenwardError {
  const failure = error as TokenwardError
  expect({ code: failure.code, status: failure.status }).toEqual({ code, status })
  const bearerError = code in BEARER_ERROR ? BEARER_ERROR[code] : 'invalid_token'
  expect(failure.error).toBe(bearerError)
  const challenge = failure.wwwAuthenticate()
  if (status >= 500) {
    expect(challenge).toBeUndefined()
  } else if (bearerError === undefined) {
    expect(challenge).toBe(`Bearer realm="${realm}"`)
  } else {
    expect(challenge).toMatch(
      new RegExp(`^Bearer realm="${realm}", error="${bearerError}", error_description="[^"]*"`),
    )
  }
}

/** 503 upstream_unavailable with Retry-After, rendered with the header and without a challenge. */
export function expectUnavailable(error: unknown): asserts error is TokenwardError {
  expectFailure(error, 'upstream_unavailable', 503)
  expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(1)
  const response = toHttpResponse(error)
  expect(response.status).toBe(503)
  expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1)
  expect(response.headers['www-authenticate']).toBeUndefined()
}

/** A logger whose calls a test reads. */
export function spyLogger(): { warn: Mock<Logger['warn']>; error: Mock<Logger['error']> } {
  return { warn: vi.fn<Logger['warn']>(), error: vi.fn<Logger['error']>() }
}

/** A documented guarantee: the logger is never given a token. */
export function expectNotLogged(logger: ReturnType<typeof spyLogger>, token: string): void {
  const logged = JSON.stringify([logger.warn.mock.calls, logger.error.mock.calls])
  expect(logged.includes(token)).toBe(false)
}
