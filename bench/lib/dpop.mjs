/* global Buffer */
// A DPoP client (RFC 9449) for the benchmarks: a P-256 key, its RFC 7638 thumbprint (the `cnf.jkt`
// of tokens bound to it) and proofs signed with node:crypto, synchronously (about 30 µs each on
// one core: a share of proofs for a 1 s run is signed in a fraction of a second).
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto'

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** base64url(SHA-256(token)): the `ath` of a proof presented with `token` (RFC 9449 §4.2). */
export function accessTokenHash(token) {
  return createHash('sha256').update(token, 'ascii').digest('base64url')
}

/** An ES256 DPoP key pair: { jwk, jkt, publicKey, proof({ method, url, accessToken }) }. */
export function dpopClient() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' })
  const jwk = { kty, crv, x, y }
  // RFC 7638 §3.2: the required members, in lexicographic order, no whitespace.
  const jkt = createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url')
  const header = b64({ typ: 'dpop+jwt', alg: 'ES256', jwk })
  return {
    jwk,
    jkt,
    publicKey,
    /**
     * A proof for one request (§4.2): a fresh `jti`, `iat` now (or `iat`), `ath` of the token.
     * `ath` may be given precomputed (`athHash`), as a client reuses it for every request.
     */
    proof({ method, url, accessToken, athHash, iat }) {
      const payload = b64({
        jti: randomBytes(12).toString('base64url'),
        htm: method,
        htu: url,
        iat: iat ?? Math.floor(Date.now() / 1000),
        ath: athHash ?? accessTokenHash(accessToken),
      })
      const input = `${header}.${payload}`
      const signature = sign('sha256', Buffer.from(input), {
        key: privateKey,
        dsaEncoding: 'ieee-p1363',
      })
      return `${input}.${signature.toString('base64url')}`
    },
  }
}
