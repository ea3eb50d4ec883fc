// The core's sources on the Web build's runtime (src/runtime/web.ts in place of node.ts, as the
// Web build bundles them): signatures through jose, key identity from Web Crypto's exportKey,
// SHA-256 and HMAC computed without node:crypto, PEM keys imported by Web Crypto, no file system.
// The built Web build itself runs in workerd without nodejs_compat (matrix.test.ts).
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  ConfigurationError,
  createValidator,
  type AuthResult,
  type TokenwardError,
  type TokenwardEvent,
} from '@tokenward/core'
import { checkDpopProof } from '../../packages/core/src/dpop.js'
import { createMemoryReplayStore } from '../../packages/core/src/replay.js'
import { runtime } from '../../packages/core/src/runtime/index.js'
import { createDpopClient } from '../../packages/core/test/support/dpop.js'
import {
  startFaultServer,
  type FaultServer,
} from '../../packages/core/test/support/fault-server.js'
import { startIssuer, zitadelShape, type TestIssuer } from '../support/issuer.js'

vi.mock(
  '../../packages/core/src/runtime/index.js',
  () => import('../../packages/core/src/runtime/web.js'),
)

const ISSUER = 'https://issuer.web.test'
const AUD = 'api://web'

let server: FaultServer
let issuer: TestIssuer

beforeAll(async () => {
  server = await startFaultServer()
  issuer = await startIssuer()
})
afterAll(async () => {
  await server.close()
  await issuer.close()
})

async function codeOf(answer: Promise<unknown>): Promise<string | undefined> {
  return answer.then(
    () => undefined,
    (error: unknown) => (error as TokenwardError).code,
  )
}

const jwks = async (...keys: CryptoKey[]) => ({
  keys: await Promise.all(keys.map(async (k) => ({ ...(await exportJWK(k)), alg: 'RS256' }))),
})

function sign(key: CryptoKey, alg = 'RS256', kid?: string): Promise<string> {
  return new SignJWT({ sub: 'u' })
    .setProtectedHeader(kid === undefined ? { alg } : { alg, kid })
    .setIssuer(ISSUER)
    .setAudience(AUD)
    .setExpirationTime('10m')
    .sign(key)
}

it('runs on the Web runtime', () => {
  expect(runtime.name).toBe('web')
})

describe('JWTs', () => {
  it.each(['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'] as const)(
    '%s: verified through jose, then answered synchronously from the verdict cache',
    async (alg) => {
      const { publicKey, privateKey } = await generateKeyPair(alg)
      const validator = createValidator({
        issuer: ISSUER,
        audience: AUD,
        jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'k', alg }] },
      })
      const token = await sign(privateKey, alg, 'k')
      const first = validator.authenticateNow(`Bearer ${token}`)
      expect(first).toBeInstanceOf(Promise)
      expect((await first).subject).toBe('u')
      const again = validator.authenticateNow(`Bearer ${token}`)
      expect(again).not.toBeInstanceOf(Promise)
      expect((again as AuthResult).subject).toBe('u')
      const forged = `${token.slice(0, token.lastIndexOf('.'))}.${'A'.repeat(86)}`
      expect(await codeOf(validator.validate(forged))).toBe('invalid_signature')
    },
  )

  it('a verified token without kid is cached, and dropped once its key leaves the key set', async () => {
    const first = await generateKeyPair('RS256')
    const second = await generateKeyPair('RS256')
    server.setRoute('/jwks', { status: 200, body: await jwks(first.publicKey) })
    const events: TokenwardEvent[] = []
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUD,
      jwksUri: `${server.url}/jwks`,
      jwks: { cacheMaxAgeSeconds: 0.05, cooldownSeconds: 0 },
      onEvent: (event) => events.push(event),
    })
    const token = await sign(first.privateKey)
    expect((await validator.validate(token)).subject).toBe('u')
    // The key's identity was learnt with the verification: the verdict holds at once.
    expect(validator.authenticateNow(`Bearer ${token}`)).not.toBeInstanceOf(Promise)
    expect(events).toContainEqual({ type: 'cache_hit', cache: 'token' })
    server.setRoute('/jwks', { status: 200, body: await jwks(second.publicKey) })
    // The set is refreshed in the background once stale; then the cached verdict no longer holds.
    let code: string | undefined
    for (let i = 0; i < 40 && code === undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25))
      code = await codeOf(validator.validate(token))
    }
    expect(code).toBe('invalid_signature')
  })

  it('a static JWK is checked for its members at creation', () => {
    expect(() =>
      createValidator({
        issuer: ISSUER,
        audience: AUD,
        jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'AQAB', y: 'AQAB' }] },
      }),
    ).toThrow(/jwks\.keys\[0\].*cannot be imported as a public key \("x" must be 32 bytes/)
  })
})

const BROKEN_RSA_PKCS8 = Buffer.from(
  '3019020100300d06092a864886f70d010101050004053003020100',
  'hex',
).toString('base64')

describe('introspection', () => {
  const PROJECT = '170086774599581953'
  const APP = '170086824411201793@portal'

  it('private_key_jwt with a ZITADEL key file (PKCS#1): the key is imported by Web Crypto; a cached answer is synchronous', async () => {
    const keyFile = issuer.introspectionClients.privateKeyJwt.keyFile
    expect(keyFile.key).toContain('BEGIN RSA PRIVATE KEY')
    const events: TokenwardEvent[] = []
    const validator = createValidator({
      issuer: issuer.issuer,
      audience: { trusted: [APP, PROJECT], mode: 'strict', required: [PROJECT] },
      roles: { preset: 'zitadel', projectId: PROJECT },
      introspection: { auth: { method: 'private_key_jwt', keyFile } },
      onEvent: (event) => events.push(event),
    })
    const shape = zitadelShape({ projectId: PROJECT, clientIds: [APP], roles: {} })
    const { token } = await issuer.issueToken({
      format: 'opaque',
      audience: shape.audience,
      claims: shape.claims,
    })
    expect((await validator.validate(token)).source).toBe('introspection')
    const again = validator.authenticateNow(`Bearer ${token}`)
    expect(again).not.toBeInstanceOf(Promise)
    expect(events.filter((event) => event.type === 'authenticated').at(-1)).toMatchObject({
      cached: true,
    })
  })

  it('a key file given as a path: a ConfigurationError saying to pass the parsed JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tokenward-web-'))
    const path = join(dir, 'key.json')
    writeFileSync(path, JSON.stringify(issuer.introspectionClients.privateKeyJwt.keyFile))
    try {
      const create = () =>
        createValidator({
          issuer: issuer.issuer,
          audience: PROJECT,
          introspection: { auth: { method: 'private_key_jwt', keyFile: path } },
        })
      expect(create).toThrow(ConfigurationError)
      expect(create).toThrow(/introspection\.auth\.keyFile.*no file system.*parsed JSON/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a key that does not import on first use: 503, logged as a misconfiguration', async () => {
    const keyFile = {
      ...issuer.introspectionClients.privateKeyJwt.keyFile,
      // An RSA PrivateKeyInfo (RFC 5208 §5) whose key octets are no RSAPrivateKey.
      key: `-----BEGIN PRIVATE KEY-----\n${BROKEN_RSA_PKCS8}\n-----END PRIVATE KEY-----`,
    }
    const errors: string[] = []
    const validator = createValidator({
      issuer: issuer.issuer,
      audience: PROJECT,
      introspection: { auth: { method: 'private_key_jwt', keyFile } },
      logger: { warn: () => undefined, error: (message) => errors.push(message) },
    })
    expect(await codeOf(validator.validate('an-opaque-token'))).toBe('upstream_unavailable')
    expect(errors.join('\n')).toMatch(/no client assertion could be signed/)
  })
})

it('DPoP: a proof checked on the Web runtime (ath and the replay key hashed without node:crypto)', async () => {
  const client = await createDpopClient('ES256')
  const url = 'https://api.example.com/orders'
  const check = {
    method: 'GET',
    url,
    accessToken: 'the-access-token',
    now: Math.floor(Date.now() / 1000),
    algorithms: ['ES256'],
    replay: createMemoryReplayStore(),
  }
  // A refusal may be thrown or a rejection: either way a rejection here.
  const checked = (proof: string) => Promise.resolve().then(() => checkDpopProof(proof, check))
  const proof = await client.proof({ method: 'GET', url, accessToken: 'the-access-token' })
  expect((await checked(proof)).jkt).toBe(client.jkt)
  await expect(checked(proof)).rejects.toThrow('the proof was used before')
  const other = await client.proof({ method: 'GET', url, accessToken: 'another-token' })
  await expect(checked(other)).rejects.toThrow('ath is not the hash of the access token')
})
