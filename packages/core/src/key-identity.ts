/**
 * Which key a key is, and which keys can be used at all: what ties a cached verdict to the key
 * that verified it, and what keeps keys jose cannot use out of a key set.
 */
import type { VerificationKey } from './keys.js'
import { runtime } from './runtime/index.js'
import type { PublicJwkMembers } from './runtime/contract.js'
import { boundedFetch, reportRequest, upstreamText, type UpstreamContext } from './upstream.js'

/**
 * The RFC 7638 §3.2 thumbprint input of a public JWK: its required members in lexicographic
 * order. Two keys are the same key exactly when these inputs are equal (their SHA-256, the
 * thumbprint, need not be computed to compare them).
 */
export function thumbprintInput(jwk: PublicJwkMembers): string | undefined {
  switch (jwk.kty) {
    case 'RSA':
      return JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n })
    case 'EC':
      return JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })
    case 'OKP':
      return JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x })
    default:
      return undefined
  }
}

const identities = new WeakMap<object, string | undefined>()
const exporting = new WeakMap<object, Promise<void>>()

/**
 * The thumbprint input of a key jose gave (a CryptoKey or a KeyObject), computed once per key.
 * Undefined for a key that cannot be exported, and, on the Web build, until Web Crypto has
 * exported it (see {@link knownIdentity}).
 */
export function identityOf(key: VerificationKey): string | undefined {
  if (!identities.has(key)) void knownIdentity(key)
  return identities.get(key)
}

/**
 * Learns the identity of `key`: nothing to wait for once it is known (always, on Node), else a
 * promise that settles, never rejecting, when it is.
 */
export function knownIdentity(key: VerificationKey): Promise<void> | undefined {
  if (identities.has(key)) return undefined
  const waiting = exporting.get(key)
  if (waiting !== undefined) return waiting
  let exported: PublicJwkMembers | Promise<PublicJwkMembers>
  try {
    exported = runtime.exportPublicJwk(key)
  } catch {
    identities.set(key, undefined)
    return undefined
  }
  if (!(exported instanceof Promise)) {
    identities.set(key, thumbprintInput(exported))
    return undefined
  }
  const learnt = (identity: string | undefined): void => {
    identities.set(key, identity)
    exporting.delete(key)
  }
  const settled = exported.then(
    (jwk) => {
      learnt(thumbprintInput(jwk))
    },
    () => {
      learnt(undefined)
    },
  )
  exporting.set(key, settled)
  return settled
}

/**
 * Why jose cannot verify with this JWK, or undefined: of the EdDSA curves (RFC 8037 §2) only
 * Ed25519 is supported, so an Ed448 key would silently never match a token.
 */
export function unusableKey(jwk: { kty?: unknown; crv?: unknown }): string | undefined {
  return jwk.kty === 'OKP' && jwk.crv !== 'Ed25519'
    ? `is an OKP key on curve ${String(jwk.crv)}; only Ed25519 EdDSA keys can be used`
    : undefined
}

/**
 * The JWKS fetch: bounded, and keys jose cannot use left out of the set with a warning (they
 * could only ever answer `unknown_key`, which would hide the cause).
 */
export function keySetFetch(context: UpstreamContext, url: string): typeof fetch {
  const bounded = boundedFetch(context.fetch)
  return async (input, init) => {
    const started = performance.now()
    let response: Response | undefined
    try {
      response = await bounded(input, init)
    } finally {
      reportRequest(context, 'jwks', url, response?.status, started)
    }
    if (response.status === 200) context.onEvent?.({ type: 'keys_refreshed', url })
    const json = (await response
      .clone()
      .json()
      .catch(() => undefined)) as { keys?: unknown } | undefined
    if (!Array.isArray(json?.keys)) return response
    const keys = (json.keys as unknown[]).filter((member) => {
      const jwk = (typeof member === 'object' && member !== null ? member : {}) as Record<
        string,
        unknown
      >
      const unusable = unusableKey(jwk)
      if (unusable !== undefined) {
        context.logger?.warn(`tokenward: a key of the issuer's JWKS ${unusable}; it is skipped`, {
          url,
          kid: typeof jwk.kid === 'string' ? upstreamText(jwk.kid) : undefined,
        })
      }
      return unusable === undefined
    })
    if (keys.length === json.keys.length) return response
    return new Response(JSON.stringify({ ...json, keys }), {
      status: response.status,
      headers: response.headers,
    })
  }
}
