/**
 * The signature check. jose selects and imports the key (kid, kty, alg, use, key_ops); the Node
 * build then verifies with node:crypto, synchronously (runtime/node.ts), and jose decides
 * whatever that path leaves alone, and everything on the Web build.
 * packages/core/test/signature.test.ts proves both paths give the same verdict.
 */
import { compactVerify } from 'jose'
import { TokenwardError } from './errors.js'
import { knownIdentity } from './key-identity.js'
import type { VerificationKey } from './keys.js'
import { runtime } from './runtime/index.js'

/**
 * Verifies the compact JWS `token` (already classified) with `key`; throws `invalid_signature`.
 * Synchronous on the node:crypto path; a promise only when jose decides.
 */
export function verifySignature(
  token: string,
  alg: string,
  key: VerificationKey,
): void | Promise<void> {
  const valid = runtime.verifyNatively(token, alg, key)
  if (valid === undefined) return verifyWithJose(token, alg, key)
  if (!valid) throw new TokenwardError('invalid_signature')
}

/** jose's own path, for keys and algorithms the fast path leaves alone. */
export async function verifyWithJose(
  token: string,
  alg: string,
  key: VerificationKey,
): Promise<void> {
  try {
    // Where the key's identity takes a promise to learn (Web Crypto's exportKey), it is learnt
    // now, so a verdict cached on this key can be checked against the key set synchronously.
    await Promise.all([compactVerify(token, key, { algorithms: [alg] }), knownIdentity(key)])
  } catch (error) {
    throw joseError(error)
  }
}

/** jose's verification errors, by code. Anything else is not a token problem and stays as it is. */
function joseError(error: unknown): unknown {
  switch ((error as { code?: unknown } | null)?.code) {
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new TokenwardError('invalid_signature', { cause: error })
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return new TokenwardError('alg_not_allowed', { cause: error })
    case 'ERR_JWS_INVALID':
      return new TokenwardError('malformed_token', { cause: error })
    default:
      // A key of the wrong type for alg (jose's TypeError): the token cannot verify with it.
      return error instanceof TypeError
        ? new TokenwardError('invalid_signature', { cause: error })
        : error
  }
}
