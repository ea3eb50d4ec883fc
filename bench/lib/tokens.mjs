// Keys and tokens for the benchmarks, signed with jose. Signing runs on libuv's thread pool
// (WebCrypto), so minting many tokens with several in flight uses every core.
import { randomBytes } from 'node:crypto'
import { SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose'

/** A signing key pair and its public JWK (with `kid`, `alg`, `use`). */
export async function signingKey(alg, kid) {
  const options = alg.startsWith('RS')
    ? { modulusLength: 2048, extractable: true }
    : { extractable: true }
  const { privateKey, publicKey } = await generateKeyPair(alg, options)
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }
  return { alg, kid, privateKey, publicKey, jwk, pem: await exportSPKI(publicKey) }
}

/** The claims of the i-th token of a pool. */
export function claims(issuer, audience, i, { lifetimeSeconds = 3600, now } = {}) {
  const iat = now ?? Math.floor(Date.now() / 1000)
  return {
    iss: issuer,
    aud: audience,
    sub: `user-${i}`,
    client_id: 'bench-client',
    scope: 'read write',
    iat,
    exp: iat + lifetimeSeconds,
    jti: randomBytes(9).toString('base64url'),
  }
}

/** Signs `payload` with `key` (header: alg, kid, typ at+jwt). `kid` overrides the key's own. */
export function sign(key, payload, kid = key.kid) {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid, typ: 'at+jwt' })
    .sign(key.privateKey)
}

/**
 * Mints up to `count` tokens, `make(i)` → Promise<token>, with `concurrency` in flight; stops
 * early at `deadline` (epoch ms). Returns the tokens minted, in order.
 */
export async function mintPool(count, make, { concurrency = 32, deadline = Infinity } = {}) {
  const tokens = []
  let next = 0
  async function worker() {
    while (next < count && Date.now() < deadline) {
      const i = next++
      tokens[i] = await make(i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  // A deadline may leave holes at the end only if workers stopped mid-way: keep the prefix.
  const end = tokens.findIndex((t) => t === undefined)
  return end === -1 ? tokens : tokens.slice(0, end)
}

/** A random opaque token (no dots: tokenward sends it to introspection). */
export function opaqueToken() {
  return randomBytes(24).toString('base64url')
}
