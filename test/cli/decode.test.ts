// `tokenward decode`: a JWT's header and claims, with no --issuer or --audience and no check at
// all (and it says so); opaque and encrypted tokens get a clear answer and exit status 1.
import { CompactEncrypt, SignJWT, generateKeyPair } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeToken } from '@tokenward/cli'
import { startIssuer, zitadelShape, type TestIssuer } from '../support/issuer.js'
import { run, runBinary } from './run.js'

const CLAIMS = {
  iss: 'https://acme-abc123.zitadel.cloud',
  sub: '271449378465775617',
  aud: ['170086824411201793@shop', '170086774599581953'],
  client_id: '170086824411201793@shop',
  iat: 1_795_335_283,
  nbf: 1_795_335_283,
  exp: 1_795_338_883,
  'urn:zitadel:iam:org:project:170086774599581953:roles': {
    admin: { '170086363054473473': 'acme.example' },
  },
}

let jwt: string
let issuer: TestIssuer

beforeAll(async () => {
  const { privateKey } = await generateKeyPair('ES256')
  // An expired token signed by a key nobody trusts: decode shows it all the same.
  jwt = await new SignJWT(CLAIMS)
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'key-1' })
    .sign(privateKey)
  issuer = await startIssuer()
})
afterAll(async () => {
  await issuer.close()
})

const EXPECTED = `header
{
  "alg": "ES256",
  "typ": "at+jwt",
  "kid": "key-1"
}

claims
{
  "iss": "https://acme-abc123.zitadel.cloud",
  "sub": "271449378465775617",
  "aud": [
    "170086824411201793@shop",
    "170086774599581953"
  ],
  "client_id": "170086824411201793@shop",
  "iat": 1795335283,
  "nbf": 1795335283,
  "exp": 1795338883,
  "urn:zitadel:iam:org:project:170086774599581953:roles": {
    "admin": {
      "170086363054473473": "acme.example"
    }
  }
}

iat        2026-11-22T08:14:43.000Z
nbf        2026-11-22T08:14:43.000Z
exp        2026-11-22T09:14:43.000Z

Not verified: decode checks nothing (signature, issuer, audience, lifetime); tokenward inspect does.
`

describe('tokenward decode', () => {
  it('prints the header, the claims and their times, says nothing was verified, exits 0', async () => {
    expect(await run(['decode', jwt])).toEqual({ status: 0, out: EXPECTED, err: '' })
  })

  it('never prints the token or its signature', async () => {
    const { out } = await run(['decode', jwt])
    expect(out).not.toContain(jwt.split('.')[2])
    expect(out).not.toContain(jwt.split('.')[1])
  })

  it('reads the token from standard input, with "-" or without an argument', async () => {
    expect(await run(['decode', '-'], `${jwt}\n`)).toEqual({ status: 0, out: EXPECTED, err: '' })
    expect(await run(['decode'], jwt)).toEqual({ status: 0, out: EXPECTED, err: '' })
  })

  it('with --json prints the same as one object with "verified": false', async () => {
    const { status, out, err } = await run(['decode', jwt, '--json'])
    expect({ status, err }).toEqual({ status: 0, err: '' })
    expect(JSON.parse(out)).toEqual({
      verified: false,
      format: 'jwt',
      header: { alg: 'ES256', typ: 'at+jwt', kid: 'key-1' },
      claims: CLAIMS,
    })
  })

  it("decodes the test issuer's token with no issuer or audience given", async () => {
    const { token } = await issuer.issueToken(
      zitadelShape({ projectId: '170086774599581953', clientIds: ['170086824411201793@shop'] }),
    )
    const { status, out } = await run(['decode', token, '--json'])
    expect(status).toBe(0)
    const decoded = JSON.parse(out) as {
      header: Record<string, unknown>
      claims: Record<string, unknown>
    }
    expect(decoded.header).toEqual({ alg: 'RS256', typ: 'JWT', kid: issuer.kids[0] })
    expect(decoded.claims).toMatchObject({
      iss: issuer.issuer,
      aud: ['170086824411201793@shop', '170086774599581953'],
    })
  })

  it('answers an opaque token in one line and exits 1', async () => {
    const { token } = await issuer.issueToken({ format: 'opaque' })
    expect(await run(['decode', token])).toEqual({
      status: 1,
      out: `not a JWT: an opaque token (${token.length} characters). Only its issuer can tell what it holds: tokenward inspect --introspect asks it (RFC 7662).\n`,
      err: '',
    })
    const json = await run(['decode', token, '--json'])
    expect(json.status).toBe(1)
    expect(JSON.parse(json.out)).toEqual({
      verified: false,
      format: 'opaque',
      length: token.length,
    })
  })

  it('shows the header of an encrypted token (JWE) and says its claims need the key; exits 1', async () => {
    const { publicKey } = await generateKeyPair('RSA-OAEP-256')
    const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(CLAIMS)))
      .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', cty: 'JWT' })
      .encrypt(publicKey)
    expect(await run(['decode', jwe])).toEqual({
      status: 1,
      out:
        'header\n{\n  "alg": "RSA-OAEP-256",\n  "enc": "A256GCM",\n  "cty": "JWT"\n}\n\n' +
        "an encrypted JWT (JWE): its claims can be read only with the recipient's private key.\n",
      err: '',
    })
  })

  it('says why a JOSE header followed by something else is not a JWT; exits 1', async () => {
    const header = Buffer.from('{"alg":"HS256"}').toString('base64url')
    const text = Buffer.from('hello').toString('base64url')
    expect(await run(['decode', `${header}.${text}.c2ln`])).toEqual({
      status: 1,
      out: 'header\n{\n  "alg": "HS256"\n}\n\nnot a JWT: the payload is not a JSON object.\n',
      err: '',
    })
    expect(decodeToken(`${header}.e30`)).toEqual({
      format: 'malformed',
      header: { alg: 'HS256' },
      reason: 'a JWS has three parts, this has 2',
    })
    expect(decodeToken('abc.def.ghi')).toEqual({ format: 'opaque', length: 11 })
  })

  it('exits 2 with one line when there is no token', async () => {
    expect(await run(['decode'], '  \n')).toEqual({
      status: 2,
      out: '',
      err: 'tokenward: no token: give it as the argument or on standard input\n',
    })
  })

  it('works from the built binary, the token on standard input', async () => {
    expect(await runBinary(['decode'], jwt)).toEqual({ status: 0, out: EXPECTED, err: '' })
  })
})
