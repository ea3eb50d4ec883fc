// Differential test of the node:crypto fast path (packages/core/src/signature.ts) against jose's
// own compactVerify: every token of the corpus gets the same verdict from both paths.
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose'
import { generateKeyPairSync } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { verifySignature, verifyWithJose } from '../src/signature.js'

const ALGORITHMS = [
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
] as const
type Alg = (typeof ALGORITHMS)[number]

interface Case {
  readonly name: string
  readonly token: string
  readonly alg: string
  readonly jwk: JWK
}

const cases: Case[] = []

function flip(text: string, at: number): string {
  const chars = text.split('') // base64url: ASCII only
  const i = (at + chars.length) % chars.length
  chars[i] = chars[i] === 'A' ? 'B' : 'A'
  return chars.join('')
}

function withSignature(token: string, signature: Buffer | string): string {
  const head = token.slice(0, token.lastIndexOf('.'))
  return `${head}.${typeof signature === 'string' ? signature : signature.toString('base64url')}`
}

// ECDSA group orders (SEC 2): r = n is out of range and must never verify.
const P256_N = Buffer.from(
  'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551',
  'hex',
)

beforeAll(async () => {
  for (const alg of ALGORITHMS) {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
    const other = await generateKeyPair(alg, { extractable: true })
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid: alg, alg }
    const sign = (claims: Record<string, unknown>, key = privateKey) =>
      new SignJWT(claims).setProtectedHeader({ alg, kid: alg }).sign(key)
    const token = await sign({ sub: 'a', n: 1 })
    const [header, payload, signature] = token.split('.') as [string, string, string]
    const sigBytes = Buffer.from(signature, 'base64url')
    cases.push(
      { name: `${alg} valid`, token, alg, jwk },
      {
        name: `${alg} payload changed`,
        token: `${header}.${flip(payload, 3)}.${signature}`,
        alg,
        jwk,
      },
      {
        name: `${alg} header changed`,
        token: `${Buffer.from(JSON.stringify({ alg, kid: alg, x: 1 })).toString('base64url')}.${payload}.${signature}`,
        alg,
        jwk,
      },
      {
        name: `${alg} signature bit flipped`,
        token: withSignature(token, flip(signature, 5)),
        alg,
        jwk,
      },
      {
        name: `${alg} signature truncated`,
        token: withSignature(token, sigBytes.subarray(0, sigBytes.length - 1)),
        alg,
        jwk,
      },
      {
        name: `${alg} signature extended`,
        token: withSignature(token, Buffer.concat([sigBytes, Buffer.from([0])])),
        alg,
        jwk,
      },
      { name: `${alg} empty signature`, token: withSignature(token, ''), alg, jwk },
      {
        name: `${alg} all-zero signature`,
        token: withSignature(token, Buffer.alloc(sigBytes.length)),
        alg,
        jwk,
      },
      {
        name: `${alg} signed by another key`,
        token: await sign({ sub: 'a', n: 1 }, other.privateKey),
        alg,
        jwk,
      },
    )
  }
  // ECDSA r = n, s = 1 (RFC 8725 §3.4 family of malleability attacks).
  const es = cases.find((c) => c.name === 'ES256 valid')!
  cases.push({
    name: 'ES256 r = n',
    token: withSignature(es.token, Buffer.concat([P256_N, Buffer.alloc(31), Buffer.from([1])])),
    alg: 'ES256',
    jwk: es.jwk,
  })
  // A DER signature where JWS requires r || s.
  const { privateKey: derKey, publicKey: derPub } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
  })
  const derJwk = { ...(derPub.export({ format: 'jwk' }) as JWK), kid: 'der', alg: 'ES256' }
  const unsigned = `${Buffer.from(JSON.stringify({ alg: 'ES256', kid: 'der' })).toString('base64url')}.${Buffer.from('{"sub":"a"}').toString('base64url')}`
  const { sign: nodeSign } = await import('node:crypto')
  const der = nodeSign('sha256', Buffer.from(unsigned), derKey)
  cases.push({
    name: 'ES256 DER-encoded signature',
    token: `${unsigned}.${der.toString('base64url')}`,
    alg: 'ES256',
    jwk: derJwk,
  })
  // A key too short for RS256 (jose refuses RSA under 2048 bits).
  const short = generateKeyPairSync('rsa', { modulusLength: 1024 })
  const shortJwk = {
    ...(short.publicKey.export({ format: 'jwk' }) as JWK),
    kid: 'short',
    alg: 'RS256',
  }
  const shortUnsigned = `${Buffer.from(JSON.stringify({ alg: 'RS256', kid: 'short' })).toString('base64url')}.${Buffer.from('{"sub":"a"}').toString('base64url')}`
  cases.push({
    name: 'RS256 with a 1024-bit key',
    token: `${shortUnsigned}.${nodeSign('sha256', Buffer.from(shortUnsigned), short.privateKey).toString('base64url')}`,
    alg: 'RS256',
    jwk: shortJwk,
  })
  // A key listed for another algorithm of the same family: jose must refuse the pairing.
  const rs = cases.find((c) => c.name === 'RS256 valid')!
  cases.push({
    name: 'RS256 token, key marked RS384',
    token: rs.token,
    alg: 'RS256',
    jwk: { ...rs.jwk, alg: 'RS384' },
  })
})

async function verdict(run: () => void | Promise<void>): Promise<string> {
  try {
    await run()
    return 'valid'
  } catch (error) {
    return (error as { code?: string }).code ?? `threw ${(error as Error).name}`
  }
}

describe('the node:crypto fast path gives the same verdict as jose', () => {
  it('covers every algorithm with valid and broken signatures', () => {
    expect(cases.length).toBeGreaterThanOrEqual(ALGORITHMS.length * 9 + 4)
  })

  it('agrees on every token of the corpus', async () => {
    const disagreements: string[] = []
    let valid = 0
    for (const c of cases) {
      const set = createLocalJWKSet({ keys: [c.jwk] })
      const key = await set({ alg: c.alg, kid: c.jwk.kid! }).catch(() => undefined)
      if (key === undefined) continue // jose refuses the key itself: neither path runs.
      const fast = await verdict(() => verifySignature(c.token, c.alg, key))
      const jose = await verdict(() => verifyWithJose(c.token, c.alg, key))
      if (fast !== jose) disagreements.push(`${c.name}: fast=${fast} jose=${jose}`)
      if (fast === 'valid') valid++
    }
    expect(disagreements).toEqual([])
    expect(valid).toBe(ALGORITHMS.length)
  })

  it.each(ALGORITHMS)('%s: only the untouched token verifies', async (alg: Alg) => {
    const mine = cases.filter((c) => c.name.startsWith(`${alg} `) && !c.name.includes('key'))
    const set = createLocalJWKSet({ keys: [mine[0]!.jwk] })
    const key = await set({ alg, kid: alg })
    const verdicts = await Promise.all(
      mine.map((c) => verdict(() => verifySignature(c.token, c.alg, key))),
    )
    expect(verdicts.filter((v) => v === 'valid')).toHaveLength(1)
    expect(verdicts[0]).toBe('valid')
  })
})
