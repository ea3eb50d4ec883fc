// A DPoP client for tests: a key pair made with jose and the proofs (RFC 9449 §4.2) it signs,
// for token requests to the test issuer and for requests to a protected resource. Every part of
// a proof can be overridden, or left out with `undefined`, to build the proofs a server must refuse.
import { createHash, randomUUID } from 'node:crypto'

import {
  CompactSign,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  type CryptoKey,
  type JWK,
  type JWSAlgorithm,
} from 'jose'

export interface ProofOptions {
  /** `htm`. */
  method: string
  /** `htu` (query and fragment are kept as given: a client should strip them). */
  url: string
  /** The access token the proof goes with: `ath` is its hash. */
  accessToken?: string | undefined
  /** `iat`, Unix seconds. Default: now. */
  iat?: number | undefined
  /** `jti`. Default: a fresh UUID. */
  jti?: string | undefined
  /** Merged into the payload last; `undefined` removes a claim. */
  claims?: Record<string, unknown>
  /** Merged into the protected header last; `undefined` removes a member. */
  header?: Record<string, unknown>
  /** Sign with this key instead (the header still embeds this client's public key). */
  signWith?: CryptoKey
}

export interface DpopClient {
  readonly alg: JWSAlgorithm
  readonly privateKey: CryptoKey
  readonly publicJwk: JWK
  /** RFC 7638 thumbprint of the public key: the `cnf.jkt` of tokens bound to it. */
  readonly jkt: string
  /** A signed proof; the header is `{ typ: 'dpop+jwt', alg, jwk }` unless overridden. */
  proof(options: ProofOptions): Promise<string>
}

/** base64url(SHA-256(token)): the `ath` of a proof that goes with `token` (RFC 9449 §4.2). */
export function accessTokenHash(token: string): string {
  return createHash('sha256').update(token, 'ascii').digest('base64url')
}

function withoutUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, member]) => member !== undefined))
}

export async function createDpopClient(alg: JWSAlgorithm = 'ES256'): Promise<DpopClient> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const publicJwk = await exportJWK(publicKey)
  const jkt = await calculateJwkThumbprint(publicJwk)
  return {
    alg,
    privateKey,
    publicJwk,
    jkt,
    proof(options) {
      const payload = withoutUndefined({
        jti: options.jti ?? randomUUID(),
        htm: options.method,
        htu: options.url,
        iat: options.iat ?? Math.floor(Date.now() / 1000),
        ath: options.accessToken === undefined ? undefined : accessTokenHash(options.accessToken),
        ...options.claims,
      })
      const header = withoutUndefined({ typ: 'dpop+jwt', alg, jwk: publicJwk, ...options.header })
      return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
        .setProtectedHeader(header as { alg: string })
        .sign(options.signWith ?? privateKey)
    },
  }
}
