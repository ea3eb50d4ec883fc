// Property-based fuzzing (fast-check). Whatever a client sends, with a
// healthy issuer (a static key set: no network), `validate` and `authenticate` end in an
// AuthResult or a TokenwardError whose code is in the README's error table with its status, never a
// 5xx, never another exception, and never with the token echoed in what the client sees.
import { generateKeyPairSync, sign as nodeSign } from 'node:crypto'
import * as fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  createValidator,
  toHttpResponse,
  TokenwardError,
  type AuthResult,
  type Validator,
} from '@tokenward/core'
import { AUDIENCE, DOCUMENTED_STATUS, ISSUER, b64url, nowSeconds, publicJwk } from './fixtures.js'

const NUM_RUNS = 2_000
const PROJECT = '170086774599581953'
const ROLE_CLAIM = `urn:zitadel:iam:org:project:${PROJECT}:roles`

const ed = generateKeyPairSync('ed25519')
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const KEYS = [publicJwk(ed, 'ed-1', 'EdDSA'), publicJwk(ec, 'ec-1', 'ES256')]

// Two policies, so audience, party and role code runs in both shapes.
const validators: readonly Validator[] = [
  createValidator({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: KEYS } }),
  createValidator({
    issuer: ISSUER,
    audience: { trusted: [AUDIENCE, PROJECT, 'sibling@app'], mode: 'strict', required: [PROJECT] },
    authorizedParties: ['client-1', 'sibling@app'],
    roles: { preset: 'zitadel', projectId: PROJECT },
    profile: 'zitadel',
    jwks: { keys: KEYS },
  }),
]

/** What the runs of one property ended with: 'accepted' or a code. */
type Tally = Map<string, number>

function count(tally: Tally, key: string): void {
  tally.set(key, (tally.get(key) ?? 0) + 1)
}

/**
 * The property: an AuthResult of our issuer, or a TokenwardError from the documented table with a
 * status below 500 whose client-facing text does not contain any of `secrets` (the token).
 */
async function holds(
  call: () => Promise<AuthResult>,
  secrets: readonly string[],
  tally: Tally,
): Promise<void> {
  let result: AuthResult
  try {
    result = await call()
  } catch (error) {
    if (!(error instanceof TokenwardError)) {
      throw new Error(
        `not a TokenwardError: ${error instanceof Error ? error.stack : String(error)}`,
      )
    }
    count(tally, error.code)
    expect(DOCUMENTED_STATUS[error.code], `${error.code} is in the documented table`).toBeDefined()
    expect(error.status).toBe(DOCUMENTED_STATUS[error.code])
    expect(error.status).toBeLessThan(500)
    const response = toHttpResponse(error)
    expect(response.status).toBe(error.status)
    // What the client reads: the description (also the challenge's error_description) and the
    // message. The challenge's fixed text is left out: `Bearer re` is a prefix of `Bearer realm`.
    const rendered = [error.message, error.description, response.body.error_description ?? '']
    for (const secret of secrets) {
      if (secret.length <= 8) continue
      for (const text of rendered) expect(text.includes(secret), 'the token is echoed').toBe(false)
    }
    return
  }
  count(tally, 'accepted')
  expect(result.issuer).toBe(ISSUER)
  expect(Object.isFrozen(result)).toBe(true)
  expect(Object.keys(result)).not.toContain('token')
}

/** Runs `input` through validate, authenticate and authenticate('Bearer …') on both validators. */
async function everyEntryPoint(input: string, tally: Tally): Promise<void> {
  for (const validator of validators) {
    await holds(() => validator.validate(input), [input], tally)
    await holds(() => validator.authenticate(input), [input], tally)
    const header = `Bearer ${input}`
    await holds(() => validator.authenticate(header), [input], tally)
    await holds(() => validator.authenticate([header, input]), [input], tally)
  }
}

async function check(arbitrary: fc.Arbitrary<string>): Promise<Tally> {
  const tally: Tally = new Map()
  await fc.assert(
    fc.asyncProperty(arbitrary, (input) => everyEntryPoint(input, tally)),
    { numRuns: NUM_RUNS },
  )
  return tally
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

const B64URLISH = Array.from(
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/~ ',
)
const base64urlish = fc.string({ unit: fc.constantFrom(...B64URLISH), maxLength: 600 })
/** UTF-16 code units, lone surrogates and NUL included. */
const codeUnits = fc
  .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 300 })
  .map((units) => String.fromCharCode(...units))
const latin1Bytes = fc
  .uint8Array({ maxLength: 600 })
  .map((bytes) => Buffer.from(bytes).toString('latin1'))

const ALGS = ['EdDSA', 'ES256', 'RS256', 'none', 'None', 'HS256', 'ES384', 'PS256', '']

/** A value some claim or header member might hold: well-known good ones, or anything at all. */
const memberValue = fc.oneof(
  fc.jsonValue(),
  fc.double(),
  fc.constant(undefined), // the member is left out
  fc.constantFrom<unknown>(
    ISSUER,
    `${ISSUER}/`,
    AUDIENCE,
    PROJECT,
    [PROJECT],
    ['sibling@app', PROJECT],
    [AUDIENCE, 42],
    'client-1',
    'sibling@app',
    'ed-1',
    'ec-1',
    ...ALGS,
    'JWT',
    'at+jwt',
    'dpop+jwt',
    { admin: { org1: 'acme.example' } },
    { admin: ['org1'] },
    -1,
    0,
  ),
  fc.constant(0).map(() => nowSeconds() + 600),
  fc.constant(0).map(() => nowSeconds() - 600),
)

/** `base()` with up to three members replaced by arbitrary values (or removed), plus extras. */
function mutated(
  base: () => Record<string, unknown>,
  names: readonly string[],
): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(
      fc.array(fc.tuple(fc.constantFrom(...names), memberValue), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 }),
    )
    .map(([mutations, extra]) => {
      const value: Record<string, unknown> = { ...extra, ...base() }
      for (const [name, replacement] of mutations) {
        if (replacement === undefined) delete value[name]
        else value[name] = replacement
      }
      return value
    })
}

/** Claims both validators accept, before mutation. */
const goodForBoth = (): Record<string, unknown> => {
  const now = nowSeconds()
  return {
    iss: ISSUER,
    sub: 'user-1',
    aud: [AUDIENCE, PROJECT],
    iat: now - 10,
    nbf: now - 10,
    exp: now + 600,
    jti: 'jti-1',
    client_id: 'client-1',
    scope: 'read write',
    [ROLE_CLAIM]: { admin: { org1: 'acme.example' } },
  }
}
const CLAIM_NAMES = [...Object.keys(goodForBoth()), 'azp', 'nonce', 'at_hash', 'scp', 'aud', 'exp']
const claims = mutated(goodForBoth, CLAIM_NAMES)

const HEADER_NAMES = ['alg', 'kid', 'typ', 'cty', 'crit', 'b64', 'jku', 'jwk', 'x5c', 'x5u']
const header = mutated(() => ({ alg: 'EdDSA', kid: 'ed-1', typ: 'JWT' }), HEADER_NAMES)

/** JSON values only: the arbitraries never produce undefined at the top level. */
const segmentOf = (value: unknown): string => b64url(JSON.stringify(value))

/** Unsigned: arbitrary (mostly near-valid) JSON header and payload, random signature bytes. */
const threeSegments = fc
  .tuple(
    fc.oneof({ weight: 4, arbitrary: header }, { weight: 1, arbitrary: fc.jsonValue() }),
    fc.oneof({ weight: 4, arbitrary: claims }, { weight: 1, arbitrary: fc.jsonValue() }),
    fc.uint8Array({ maxLength: 300 }),
  )
  .map(([h, p, signature]) => `${segmentOf(h)}.${segmentOf(p)}.${b64url(signature)}`)

/** Signed by the trusted Ed25519 key: gets past the signature into claims, roles and results. */
const signedByTrustedKey = fc
  .tuple(
    mutated(() => ({ kid: 'ed-1', typ: 'JWT' }), ['kid', 'typ', 'cty', 'x5c']),
    claims,
  )
  .map(([h, p]) => {
    const input = `${segmentOf({ ...h, alg: 'EdDSA' })}.${segmentOf(p)}`
    return `${input}.${nodeSign(null, Buffer.from(input), ed.privateKey).toString('base64url')}`
  })

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** Another spelling of the same JWS: base64 padding, the base64 alphabet, or set unused bits. */
function respell(token: string, how: 'padding' | 'alphabet' | 'bits'): string {
  if (how === 'padding') return `${token}=`
  if (how === 'alphabet') return token.replace(/-/g, '+').replace(/_/g, '/')
  // A 64-byte signature is 86 characters: the last one carries 4 unused bits.
  const last = BASE64URL.indexOf(token.at(-1)!)
  return `${token.slice(0, -1)}${BASE64URL[last | 1]}`
}

/** Tokens signed by the trusted key, then respelled (only those the respelling changed). */
const respelledTokens = fc
  .tuple(
    signedByTrustedKey,
    fc.constantFrom<'padding' | 'alphabet' | 'bits'>('padding', 'alphabet', 'bits'),
  )
  .map(([token, how]) => [token, respell(token, how)] as const)
  .filter(([token, respelled]) => token !== respelled)
  .map(([, respelled]) => respelled)

// ---------------------------------------------------------------------------------------------

describe(`fuzzing validate and authenticate (${NUM_RUNS} runs per property)`, () => {
  it.each<[string, fc.Arbitrary<string>, (tally: Tally) => void]>([
    [
      'arbitrary strings',
      fc.string({ maxLength: 600 }),
      (tally) => {
        expect(tally.get('malformed_token')).toBeGreaterThan(0)
      },
    ],
    [
      'unicode strings (every code point)',
      fc.string({ unit: 'binary', maxLength: 300 }),
      (tally) => {
        expect(tally.get('invalid_request')).toBeGreaterThan(0)
      },
    ],
    [
      'UTF-16 code units (lone surrogates, NUL)',
      codeUnits,
      (tally) => {
        expect(tally.get('invalid_request')).toBeGreaterThan(0)
      },
    ],
    [
      'base64url-ish strings',
      base64urlish,
      (tally) => {
        expect(tally.size).toBeGreaterThanOrEqual(3)
      },
    ],
    [
      'three segments with arbitrary JSON header and payload',
      threeSegments,
      (tally) => {
        expect(tally.get('invalid_signature')).toBeGreaterThan(0)
        expect(tally.size).toBeGreaterThanOrEqual(8)
      },
    ],
    [
      'signed tokens respelled (padding, base64 alphabet, unused bits set)',
      respelledTokens,
      (tally) => {
        // One signature has one spelling: no respelled token is ever accepted.
        expect(tally.get('accepted')).toBeUndefined()
        expect(tally.get('malformed_token')).toBeGreaterThan(0)
      },
    ],
    [
      'arbitrary bytes read as latin1',
      latin1Bytes,
      (tally) => {
        expect(tally.get('malformed_token')).toBeGreaterThan(0)
      },
    ],
    [
      'tokens signed by the trusted key with arbitrary header and claims',
      signedByTrustedKey,
      (tally) => {
        expect(tally.get('accepted')).toBeGreaterThan(0)
        expect(tally.size).toBeGreaterThanOrEqual(8)
      },
    ],
  ])(
    '%s: an AuthResult or a documented TokenwardError < 500, never echoing the token',
    async (name, arbitrary, reached) => {
      const tally = await check(arbitrary)
      // The property must have exercised something: a run that only ever hits one branch proves little.
      reached(tally)
      console.info(`fuzz ${name}: ${JSON.stringify(Object.fromEntries(tally))}`)
    },
    60_000,
  )
})
