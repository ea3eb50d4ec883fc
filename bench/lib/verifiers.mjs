/* global Buffer, Response */
// The verifiers of the micro benchmark, each `(token) => result | Promise<result>`, throwing (or
// rejecting) on a token it refuses. Every one checks the signature, `iss`, `aud` and `exp`, except
// node:crypto's `verify`, the floor: the signature alone.
import { KeyObject, verify as cryptoVerify } from 'node:crypto'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { createVerifier } from 'fast-jwt'
import { JwtVerifier } from 'aws-jwt-verify'

/** A `fetch` that serves `jwks` from memory: the remote key-set code path without a network. */
export function jwksFetch(jwks) {
  return async () =>
    new Response(JSON.stringify(jwks), { headers: { 'content-type': 'application/json' } })
}

/**
 * tokenward as in production: `jwksUri` with the JWKS served by a custom `fetch` (remote key
 * set, kid lookup on cache hits), fetched once by `warmUp()`. `authenticateNow`, as the adapters
 * call it: a result without a promise when nothing has to be fetched.
 */
export async function tokenward(createValidator, { issuer, audience, jwks, ...more }) {
  const validator = createValidator({
    issuer,
    audience,
    jwksUri: `${issuer}/jwks`,
    fetch: jwksFetch(jwks),
    logger: false,
    ...more,
  })
  await validator.warmUp()
  return validator
}

/** node:crypto `verify` over a compact JWS's signing input: the signature only (the floor). */
export function nodeCrypto(alg, publicKey) {
  const keyObject = publicKey instanceof KeyObject ? publicKey : KeyObject.from(publicKey)
  const key = alg === 'ES256' ? { key: keyObject, dsaEncoding: 'ieee-p1363' } : keyObject
  return (token) => {
    const dot = token.lastIndexOf('.')
    const ok = cryptoVerify(
      'sha256',
      Buffer.from(token.slice(0, dot)),
      key,
      Buffer.from(token.slice(dot + 1), 'base64url'),
    )
    if (!ok) throw new Error('signature')
    return ok
  }
}

export function jose(alg, { issuer, audience, jwks }) {
  const set = createLocalJWKSet(jwks)
  const options = { issuer, audience, algorithms: [alg] }
  return (token) => jwtVerify(token, set, options)
}

export function fastJwt(alg, pem, cache, { issuer, audience }) {
  return createVerifier({
    key: pem,
    algorithms: [alg],
    allowedIss: issuer,
    allowedAud: audience,
    cache,
  })
}

export function aws({ issuer, audience, jwks }) {
  const verifier = JwtVerifier.create({ issuer, audience, jwksUri: `${issuer}/jwks` })
  verifier.cacheJwks(jwks)
  return (token) => verifier.verify(token)
}
