// Sender-constrained and step-up tokens from a real OpenID Provider (oidc-provider): DPoP-bound
// tokens (RFC 9449 §5, §6), certificate-bound tokens (RFC 8705 §3), `acr` / `auth_time` (RFC 9470)
// and refresh tokens, as JWTs and through introspection. The core's building blocks (dpop.ts,
// binding.ts) accept the right proof or certificate and refuse the wrong ones; the mTLS cases also
// run over real TLS on 127.0.0.1 with a throwaway CA.
import * as https from 'node:https'
import type { AddressInfo } from 'node:net'
import { TLSSocket } from 'node:tls'
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TokenwardError, toHttpResponse, type Claims } from '@tokenward/core'
import {
  certificateThumbprint,
  checkAuthentication,
  checkBinding,
  type BindingPolicy,
} from '../../packages/core/src/binding.js'
import { checkDpopProof, type DpopProofCheck } from '../../packages/core/src/dpop.js'
import { createMemoryReplayStore } from '../../packages/core/src/replay.js'
import type { ClientCertificate } from '../../packages/core/src/types.js'
import { rejection, thrown } from '../../packages/core/test/support/tokens.js'
import { createDpopClient, type DpopClient } from '../../packages/core/test/support/dpop.js'
import { startIssuer, type TestIssuer, type TokenFormat } from '../support/issuer.js'
import {
  createCertificateAuthority,
  type CertificateAuthority,
  type CertifiedKey,
} from '../../packages/core/test/support/x509.js'

const API_URL = 'https://api.tokenward.test/orders'
const ALGS = ['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA']
const ALLOWED: BindingPolicy = { mode: 'allowed', algorithms: ALGS }
const BINDING = 'The token is bound to a key or certificate this request does not prove'
const FORMATS: readonly TokenFormat[] = ['jwt', 'opaque']

let issuer: TestIssuer
let ca: CertificateAuthority
let alice: CertifiedKey
let bob: CertifiedKey

beforeAll(async () => {
  issuer = await startIssuer({ algorithms: ['ES256'] })
  ca = createCertificateAuthority()
  alice = ca.issueClient('alice')
  bob = ca.issueClient('bob')
})
afterAll(async () => {
  await issuer.close()
})

const now = (): number => Math.floor(Date.now() / 1000)

/** What the API sees of a token: its claims (JWT) or the introspection answer (opaque). */
async function claimsOf(token: string, format: TokenFormat): Promise<Claims> {
  return format === 'jwt' ? decodeJwt(token) : issuer.introspect(token)
}

function checkFor(token: string, overrides: Partial<DpopProofCheck> = {}): DpopProofCheck {
  return {
    method: 'GET',
    url: API_URL,
    accessToken: token,
    now: now(),
    algorithms: ALGS,
    replay: createMemoryReplayStore(),
    ...overrides,
  }
}

/** The rejection of a check that throws or rejects. */
const rejected = (run: () => unknown): Promise<TokenwardError> => rejection((async () => run())())

describe('DPoP-bound tokens from the provider (RFC 9449 §5, §6)', () => {
  let client: DpopClient
  beforeAll(async () => {
    client = await createDpopClient('ES256')
  })

  it.each(FORMATS)(
    '%s: cnf.jkt is the client key’s thumbprint, token_type DPoP',
    async (format) => {
      const issued = await issuer.issueToken({ dpop: client, format })
      expect(issued.tokenType).toBe('DPoP')
      const claims = await claimsOf(issued.token, format)
      expect(claims.cnf).toEqual({ jkt: client.jkt })
      if (format === 'opaque') expect(claims.token_type).toBe('DPoP')
    },
  )

  it.each(FORMATS)('%s: the client’s proof is accepted and binds the token', async (format) => {
    const { token } = await issuer.issueToken({ dpop: client, format })
    const proof = await checkDpopProof(
      await client.proof({ method: 'GET', url: API_URL, accessToken: token }),
      checkFor(token),
    )
    expect(proof.jkt).toBe(client.jkt)
    const claims = await claimsOf(token, format)
    expect(() => {
      checkBinding(claims, { scheme: 'DPoP', proof }, ALLOWED)
    }).not.toThrow()
  })

  it.each(FORMATS)(
    '%s: a thief’s own valid proof does not bind the token (RFC 9449 Figure 16)',
    async (format) => {
      const { token } = await issuer.issueToken({ dpop: client, format })
      const thief = await createDpopClient('ES256')
      const proof = await checkDpopProof(
        await thief.proof({ method: 'GET', url: API_URL, accessToken: token }),
        checkFor(token),
      )
      const claims = await claimsOf(token, format)
      const error = thrown(() => {
        checkBinding(claims, { scheme: 'DPoP', proof }, ALLOWED)
      })
      expect([error.code, error.status]).toEqual(['invalid_token_binding', 401])
      expect(error.wwwAuthenticate()).toBe(
        `Bearer realm="api", DPoP error="invalid_token", error_description="${BINDING}: the DPoP proof key is not the one of cnf.jkt", algs="${ALGS.join(' ')}"`,
      )
    },
  )

  it.each(FORMATS)('%s: the token sent as Bearer is refused (RFC 9449 §7.2)', async (format) => {
    const { token } = await issuer.issueToken({ dpop: client, format })
    const claims = await claimsOf(token, format)
    for (const mode of ['disabled', 'allowed'] as const) {
      const error = thrown(() => {
        checkBinding(claims, { scheme: 'Bearer' }, { mode, algorithms: ALGS })
      })
      const parameters = `error="invalid_token", error_description="${BINDING}: the token is DPoP-bound: it must come with the DPoP scheme and a proof"`
      expect(error.wwwAuthenticate()).toBe(
        mode === 'disabled'
          ? `Bearer realm="api", ${parameters}`
          : `Bearer realm="api", ${parameters}, DPoP algs="${ALGS.join(' ')}"`,
      )
    }
  })

  it.each<[string, (token: string) => Promise<string>, string]>([
    [
      'a proof for another token (ath)',
      (token) => client.proof({ method: 'GET', url: API_URL, accessToken: `${token}x` }),
      'ath is not the hash of the access token',
    ],
    [
      'the proof of the token request, replayed at the API (htm, htu)',
      (token) => client.proof({ method: 'POST', url: issuer.tokenEndpoint, accessToken: token }),
      "htm 'POST' is not the method 'GET'",
    ],
    [
      'a proof for another API',
      (token) =>
        client.proof({ method: 'GET', url: 'https://other.example/orders', accessToken: token }),
      "htu 'https://other.example/orders' is not this request's URL",
    ],
  ])('%s: invalid_dpop_proof', async (_name, makeProof, detail) => {
    const { token } = await issuer.issueToken({ dpop: client })
    const proof = await makeProof(token)
    const error = await rejected(() => checkDpopProof(proof, checkFor(token)))
    expect([error.code, error.status]).toEqual(['invalid_dpop_proof', 401])
    expect(error.wwwAuthenticate()).toBe(
      `Bearer realm="api", DPoP error="invalid_dpop_proof", error_description="The DPoP proof is invalid: ${detail}", algs="${ALGS.join(' ')}"`,
    )
  })

  it('the same proof on a second request is refused (RFC 9449 §11.1)', async () => {
    const { token } = await issuer.issueToken({ dpop: client })
    const check = checkFor(token)
    const proof = await client.proof({ method: 'GET', url: API_URL, accessToken: token })
    await checkDpopProof(proof, check)
    const error = await rejected(() => checkDpopProof(proof, check))
    expect([error.code, error.description]).toEqual([
      'invalid_dpop_proof',
      'The DPoP proof is invalid: the proof was used before',
    ])
  })

  it.each(['ES384', 'PS256', 'RS256', 'EdDSA'] as const)(
    'a client key of %s: the provider binds it, the API accepts its proofs',
    async (alg) => {
      const other = await createDpopClient(alg)
      const { token } = await issuer.issueToken({ dpop: other })
      const proof = await checkDpopProof(
        await other.proof({ method: 'GET', url: API_URL, accessToken: token }),
        checkFor(token),
      )
      expect(() => {
        checkBinding(decodeJwt(token), { scheme: 'DPoP', proof }, ALLOWED)
      }).not.toThrow()
    },
  )
})

/** A protected resource over real TLS: it asks for a client certificate signed by the CA. */
interface TlsResource {
  readonly port: number
  close(): Promise<void>
}

/**
 * An HTTPS server on 127.0.0.1 that checks the Bearer token's binding against the certificate
 * of the TLS connection (only a certificate the CA signed counts) and answers as an adapter
 * would: 200, or the core's HTTP answer for the refusal.
 */
async function startTlsResource(
  readClaims: (token: string) => Promise<Claims>,
): Promise<TlsResource> {
  const server = ca.issueServer()
  const listener = https.createServer(
    {
      key: server.keyPem,
      cert: server.pem,
      ca: ca.pem,
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      const socket = req.socket
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '')
      const certificate: ClientCertificate | undefined =
        socket instanceof TLSSocket && socket.authorized
          ? socket.getPeerCertificate(true)
          : undefined
      readClaims(token)
        .then((claims) => {
          checkBinding(claims, { scheme: 'Bearer', clientCertificate: certificate }, ALLOWED)
          res.writeHead(200).end('ok')
        })
        .catch((error: unknown) => {
          const answer = toHttpResponse(error)
          res.writeHead(answer.status, answer.headers).end(JSON.stringify(answer.body))
        })
    },
  )
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
  return {
    port: (listener.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        listener.close(() => {
          resolve()
        })
        listener.closeAllConnections()
      }),
  }
}

/** GET over TLS with `token`, presenting `certificate` (or none); a fresh connection each time. */
function tlsGet(
  resource: TlsResource,
  token: string,
  certificate?: CertifiedKey,
): Promise<{ status: number; challenge: string | undefined }> {
  return new Promise((resolve, reject) => {
    const request = https.get(
      {
        host: '127.0.0.1',
        port: resource.port,
        path: '/orders',
        ca: ca.pem,
        agent: false,
        headers: { authorization: `Bearer ${token}` },
        ...(certificate === undefined ? {} : { cert: certificate.pem, key: certificate.keyPem }),
      },
      (response) => {
        response.resume()
        response.on('end', () => {
          resolve({
            status: response.statusCode ?? 0,
            challenge: response.headers['www-authenticate'],
          })
        })
      },
    )
    request.on('error', reject)
  })
}

describe('certificate-bound tokens from the provider (RFC 8705 §3)', () => {
  it.each(FORMATS)('%s: cnf["x5t#S256"] is the thumbprint of the certificate', async (format) => {
    for (const certificate of [alice.pem, alice.der]) {
      const { token, tokenType } = await issuer.issueToken({ certificate, format })
      expect(tokenType).toBe('Bearer')
      const claims = await claimsOf(token, format)
      expect(claims.cnf).toEqual({ 'x5t#S256': certificateThumbprint(alice.der) })
    }
  })

  it.each(FORMATS)('%s: the bound certificate is accepted, any other refused', async (format) => {
    const { token } = await issuer.issueToken({ certificate: alice.pem, format })
    const claims = await claimsOf(token, format)
    const present = (clientCertificate?: ClientCertificate) => () => {
      checkBinding(
        claims,
        clientCertificate === undefined
          ? { scheme: 'Bearer' }
          : { scheme: 'Bearer', clientCertificate },
        ALLOWED,
      )
    }
    for (const form of [alice.der, alice.pem, alice.x509, { raw: alice.der }]) {
      expect(present(form)).not.toThrow()
    }
    const challenge = (detail: string) =>
      `Bearer realm="api", error="invalid_token", error_description="${BINDING}: ${detail}", DPoP algs="${ALGS.join(' ')}"`
    expect(thrown(present(bob.der)).wwwAuthenticate()).toBe(
      challenge('the client certificate is not the one of cnf x5t#S256'),
    )
    expect(thrown(present()).wwwAuthenticate()).toBe(
      challenge('the token is certificate-bound and the request has no client certificate'),
    )
  })

  describe('over real TLS on 127.0.0.1 (the certificate of the connection)', () => {
    let resource: TlsResource
    beforeAll(async () => {
      resource = await startTlsResource(async (token) => decodeJwt(token))
    })
    afterAll(async () => {
      await resource.close()
    })

    it.each<[string, () => CertifiedKey | undefined, number, string | undefined]>([
      ['the bound certificate', () => alice, 200, undefined],
      [
        'another certificate of the same CA',
        () => bob,
        401,
        'the client certificate is not the one of cnf x5t#S256',
      ],
      [
        'a certificate of another CA (not trusted: no certificate)',
        () => createCertificateAuthority('another CA').issueClient('alice'),
        401,
        'the token is certificate-bound and the request has no client certificate',
      ],
      [
        'no certificate',
        () => undefined,
        401,
        'the token is certificate-bound and the request has no client certificate',
      ],
    ])('%s: %i', async (_name, certificate, status, detail) => {
      const { token } = await issuer.issueToken({ certificate: alice.der })
      const answer = await tlsGet(resource, token, certificate())
      expect(answer.status).toBe(status)
      expect(answer.challenge).toBe(
        detail === undefined
          ? undefined
          : `Bearer realm="api", error="invalid_token", error_description="${BINDING}: ${detail}", DPoP algs="${ALGS.join(' ')}"`,
      )
    })

    it('a token that is not bound needs no certificate', async () => {
      const { token } = await issuer.issueToken()
      expect((await tlsGet(resource, token)).status).toBe(200)
    })
  })
})

describe('step-up claims from the provider (RFC 9470 §3)', () => {
  const MFA = 'urn:tokenward:test:mfa'

  it.each(FORMATS)('%s: acr and auth_time reach the API', async (format) => {
    const authTime = now() - 30
    const { token } = await issuer.issueToken({ acr: MFA, authTime, format })
    const claims = await claimsOf(token, format)
    expect([claims.acr, claims.auth_time]).toEqual([MFA, authTime])
    expect(() => {
      checkAuthentication(claims, { acr: [MFA], maxAge: 60 }, { now: now() })
    }).not.toThrow()
  })

  it.each(FORMATS)(
    '%s: too old, or another acr: insufficient_user_authentication',
    async (format) => {
      const { token } = await issuer.issueToken({
        acr: 'urn:tokenward:test:pwd',
        authTime: now() - 600,
        format,
      })
      const claims = await claimsOf(token, format)
      const tooOld = thrown(() => {
        checkAuthentication(claims, { maxAge: 300 }, { now: now() })
      })
      expect([tooOld.code, tooOld.status]).toEqual(['insufficient_user_authentication', 401])
      expect(tooOld.wwwAuthenticate()).toMatch(
        /^Bearer realm="api", error="insufficient_user_authentication", error_description="A different authentication level is required: the user authenticated 60\d seconds ago, more than 300", max_age="300"$/,
      )
      expect(
        thrown(() => {
          checkAuthentication(claims, { acr: [MFA] }, { now: now() })
        }).wwwAuthenticate(),
      ).toBe(
        `Bearer realm="api", error="insufficient_user_authentication", error_description="A different authentication level is required: acr 'urn:tokenward:test:pwd' is not one of the accepted values", acr_values="${MFA}"`,
      )
    },
  )

  it('a token without acr and auth_time fails every step-up requirement', async () => {
    const claims = decodeJwt((await issuer.issueToken()).token)
    expect(
      thrown(() => {
        checkAuthentication(claims, { acr: [MFA] }, { now: now() })
      }).description,
    ).toBe('A different authentication level is required: the token has no acr')
    expect(
      thrown(() => {
        checkAuthentication(claims, { maxAge: 60 }, { now: now() })
      }).description,
    ).toBe('A different authentication level is required: the token has no auth_time')
  })
})

describe('refresh tokens from the provider', () => {
  it('are introspectable: active, without token_type or aud', async () => {
    const { token, expiresIn } = await issuer.issueRefreshToken({ accountId: 'user-7' })
    expect(expiresIn).toBe(3600)
    const answer = await issuer.introspect(token)
    expect(answer).toMatchObject({
      active: true,
      sub: 'user-7',
      client_id: issuer.tokenClient.clientId,
      iss: issuer.issuer,
      scope: 'openid offline_access',
    })
    expect(answer).not.toHaveProperty('token_type')
    expect(answer).not.toHaveProperty('aud')
    expect(answer.exp).toBe((answer.iat as number) + 3600)
  })

  it('are revocable like any token', async () => {
    const { token } = await issuer.issueRefreshToken()
    await issuer.revoke(token)
    expect(await issuer.introspect(token)).toEqual({ active: false })
  })
})
