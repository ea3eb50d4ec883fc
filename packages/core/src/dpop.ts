/**
 * DPoP proofs (RFC 9449): the checks of §4.3 on the proof a request carries in its `DPoP`
 * header, and the record of used proofs that makes each one single-use (§11.1). The key binding
 * (the token's `cnf.jkt` against the proof's key, §6 and §7.1) is decided in binding.ts.
 *
 * jose imports the proof's embedded key and computes its RFC 7638 thumbprint; the signature is
 * checked by signature.ts, the same path as access tokens. A client signs its proofs with one key
 * for a long time, so the imported key and its thumbprint are kept per JOSE header (which embeds
 * the key): a proof from a known key costs one signature verification, and is answered
 * synchronously when the replay store answers synchronously.
 *
 * Server-provided nonces (§9) are not implemented: a `nonce` claim is ignored, the `iat` window
 * alone bounds a proof's life (§11.1).
 */
import { EmbeddedJWK, calculateJwkThumbprint, type CryptoKey, type JWK } from 'jose'
import { LRUCache } from 'lru-cache'
import { TokenwardError, describeValue } from './errors.js'
import { runtime } from './runtime/index.js'
import { verifySignature } from './signature.js'
import { andThen } from './settle.js'
import { claimProof } from './replay.js'
import { normalizeHtu } from './htu.js'
import { decodeClaims, isJwsShaped } from './token.js'
import type { ReplayStore, RequestContext } from './types.js'

/** A proof that passed every check. */
export interface DpopProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's key: what `cnf.jkt` must equal (§6.1). */
  readonly jkt: string
  readonly jti: string
  /** Unix seconds. */
  readonly iat: number
  readonly htm: string
  readonly htu: string
  readonly alg: string
  /** The public key of the header. */
  readonly jwk: Readonly<JWK>
}

/** What a proof is checked against: the request, the time and the policy. */
export interface DpopProofCheck {
  /** The request's method; `htm` must equal it (case-sensitive, RFC 9110 §9.1). */
  readonly method: string
  /** The absolute URL of the request; `htu` must equal it without query and fragment (§4.3). */
  readonly url: string
  /**
   * The access token presented with the proof: `ath` must be its hash (§4.2). Undefined only for
   * a proof without a token (e.g. at a token endpoint); a resource server always has one.
   */
  readonly accessToken?: string | undefined
  /** Unix seconds. */
  readonly now: number
  /** JWS algorithms accepted (asymmetric only); also the challenge's `algs`. */
  readonly algorithms: readonly string[]
  /** How old a proof may be, seconds. Default {@link DPOP_IAT_WINDOW_SECONDS}. */
  readonly iatWindowSeconds?: number
  /** How far in the future `iat` may be, seconds. Default {@link DPOP_CLOCK_TOLERANCE_SECONDS}. */
  readonly clockToleranceSeconds?: number
  /** Where each accepted proof is recorded, so that it is refused the second time. */
  readonly replay: ReplayStore
}

/** Default age limit of a proof, seconds (§11.1: "seconds or minutes"). */
export const DPOP_IAT_WINDOW_SECONDS = 300
/** Default leeway for a client clock ahead of ours, seconds (§11.1: "reasonably near future"). */
export const DPOP_CLOCK_TOLERANCE_SECONDS = 60

/** Longer proofs are refused unread: an RSA-8192 key and signature stay well under it. */
const MAX_PROOF_LENGTH = 8192
/** §11.1: servers should refuse "unnecessarily large jti values". */
const MAX_JTI_LENGTH = 256
/** Members of a JWK that carry private key material (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'] as const

/** The invalid_dpop_proof rejection, with the DPoP challenge (§7.1) naming the accepted algs. */
function refuse(detail: string, algorithms: readonly string[], cause?: unknown): TokenwardError {
  return new TokenwardError('invalid_dpop_proof', {
    detail,
    dpop: { algs: algorithms },
    ...(cause === undefined ? {} : { cause }),
  })
}

/**
 * The one `DPoP` header of a request (§4.3 check 1), or undefined when there is none. Node joins
 * repeated headers with ", " and a JWS has no comma, so a comma means more than one header.
 */
export function dpopHeader(
  headers: RequestContext['headers'],
  algorithms: readonly string[],
): string | undefined {
  let value = headers.dpop
  if (value === undefined) {
    for (const name of Object.keys(headers)) {
      if (name.toLowerCase() === 'dpop') {
        value = headers[name]
        break
      }
    }
  }
  if (typeof value !== 'string') {
    if (value === undefined || value.length === 0) return undefined
    if (value.length > 1) throw refuse('more than one DPoP header', algorithms)
    value = value[0]!
  }
  if (value.includes(',')) throw refuse('more than one DPoP header', algorithms)
  return value.trim()
}

/** The embedded key of a JOSE header, imported once. */
interface ProofKey {
  readonly header: Readonly<Record<string, unknown>>
  /** The imported public key, once known. */
  key?: CryptoKey
  jkt?: string
}

/**
 * Decoded headers and imported keys, by the header's base64url text (which embeds the key, so
 * an entry is a pure function of its name and is shared by every validator). Bounded; only
 * headers that passed the checks are kept, and none past 2 KiB.
 */
const proofKeys = new LRUCache<string, ProofKey>({ max: 1024 })
const MAX_KEPT_HEADER = 2048

/** The entry of a proof's header: taken from the cache, or decoded and kept once it passes. */
function proofKey(segment: string, algorithms: readonly string[]): ProofKey {
  let entry = proofKeys.get(segment)
  if (entry !== undefined) return entry
  let header: Record<string, unknown>
  try {
    header = decodeClaims(segment)
  } catch {
    throw refuse('the header is not a JSON object', algorithms)
  }
  checkHeader(header, algorithms)
  // The jwk is handed to callers in every proof made with it: nobody may change it.
  Object.freeze(header.jwk)
  entry = { header: Object.freeze(header) }
  if (segment.length <= MAX_KEPT_HEADER) proofKeys.set(segment, entry)
  return entry
}

/** §4.3 checks 4, 5 and 7 (and no critical extension: DPoP defines none). */
function checkHeader(
  header: Readonly<Record<string, unknown>>,
  algorithms: readonly string[],
): string {
  const { typ, alg, jwk } = header
  // §4.2 `typ`; media type names are case-insensitive and `application/` may be left out
  // (RFC 7515 §4.1.9).
  if (typeof typ !== 'string' || typ.toLowerCase().replace(/^application\//, '') !== 'dpop+jwt') {
    throw refuse(`typ must be dpop+jwt, found ${describeValue(typ)}`, algorithms)
  }
  if (typeof alg !== 'string' || !algorithms.includes(alg)) {
    throw refuse(`alg ${describeValue(alg)} is not accepted`, algorithms)
  }
  if (header.crit !== undefined) throw refuse('crit is not supported', algorithms)
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    throw refuse('the header has no jwk', algorithms)
  }
  for (const member of PRIVATE_MEMBERS) {
    if (Object.hasOwn(jwk, member)) throw refuse('the jwk holds a private key', algorithms)
  }
  return alg
}

/** §4.2 claims, §4.3 checks 3, 8, 9, 11 and 12 (its first half: `ath`). */
function checkClaims(
  claims: Readonly<Record<string, unknown>>,
  check: DpopProofCheck,
): { jti: string; iat: number; htm: string; htu: string; target: string } {
  const { jti, htm, htu, iat, ath } = claims
  const algorithms = check.algorithms
  if (typeof jti !== 'string' || jti === '') throw refuse('jti is missing', algorithms)
  if (jti.length > MAX_JTI_LENGTH) {
    throw refuse(`jti is longer than ${MAX_JTI_LENGTH} characters`, algorithms)
  }
  if (typeof htm !== 'string') throw refuse('htm is missing', algorithms)
  if (htm !== check.method) {
    throw refuse(
      `htm ${describeValue(htm)} is not the method ${describeValue(check.method)}`,
      algorithms,
    )
  }
  if (typeof htu !== 'string') throw refuse('htu is missing', algorithms)
  const target = normalizeHtu(check.url)
  if (target === undefined) throw new TypeError('the request URL must be an absolute http(s) URL')
  if (normalizeHtu(htu) !== target) {
    throw refuse(`htu ${describeValue(htu)} is not this request's URL`, algorithms)
  }
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw refuse('iat is missing', algorithms)
  const window = check.iatWindowSeconds ?? DPOP_IAT_WINDOW_SECONDS
  const tolerance = check.clockToleranceSeconds ?? DPOP_CLOCK_TOLERANCE_SECONDS
  if (iat < check.now - window) throw refuse(`iat is older than ${window} seconds`, algorithms)
  if (iat > check.now + tolerance) throw refuse('iat is in the future', algorithms)
  if (check.accessToken !== undefined && ath !== runtime.sha256(check.accessToken)) {
    throw refuse(
      typeof ath === 'string' ? 'ath is not the hash of the access token' : 'ath is missing',
      algorithms,
    )
  }
  return { jti, iat, htm, htu, target }
}

/** jose imports the embedded key (and refuses a private or unusable one); its thumbprint. */
async function importKey(entry: ProofKey, algorithms: readonly string[]): Promise<void> {
  try {
    const key = await EmbeddedJWK(entry.header)
    entry.jkt = await calculateJwkThumbprint(entry.header.jwk as JWK, 'sha256')
    entry.key = key
  } catch (error) {
    throw refuse('the jwk is not a usable public key for alg', algorithms, error)
  }
}

/**
 * Checks a DPoP proof (RFC 9449 §4.3) for a request and records it as used. Throws, or rejects
 * with, `invalid_dpop_proof` (401, `DPoP` challenge with `algs`). Synchronous when the proof's
 * key was seen before and the replay store answers synchronously; a promise otherwise.
 *
 * The key binding (§4.3 check 12, second half) is the caller's: compare the returned `jkt` with
 * the token's `cnf.jkt` (binding.ts).
 */
export function checkDpopProof(
  proof: string,
  check: DpopProofCheck,
): DpopProof | Promise<DpopProof> {
  const algorithms = check.algorithms
  // §4.3 check 2: one well-formed compact JWS.
  if (typeof proof !== 'string' || proof.length > MAX_PROOF_LENGTH || !isJwsShaped(proof)) {
    throw refuse('the proof is not a compact JWS', algorithms)
  }
  const first = proof.indexOf('.')
  const second = proof.indexOf('.', first + 1)
  const entry = proofKey(proof.slice(0, first), algorithms)
  const alg = checkHeader(entry.header, algorithms)
  let claims: Record<string, unknown>
  try {
    claims = decodeClaims(proof.slice(first + 1, second))
  } catch {
    throw refuse('the payload is not a JSON object', algorithms)
  }
  const { target, ...checked } = checkClaims(claims, check)
  const imported = entry.key === undefined ? importKey(entry, algorithms) : undefined
  return andThen(imported, () => {
    const key = entry.key!
    const jkt = entry.jkt!
    // §4.3 check 6.
    return andThen(verified(proof, alg, key, algorithms), () => {
      // §11.1: a proof is single-use. The record lives as long as the proof could be accepted;
      // its key names the proof by key, target and jti, hashed (a jti is the client's text).
      const ttlSeconds = Math.max(
        1,
        Math.ceil(checked.iat + (check.iatWindowSeconds ?? DPOP_IAT_WINDOW_SECONDS) - check.now),
      )
      const replayKey = `dpop:${runtime.sha256(`${jkt}\n${target}\n${checked.jti}`)}`
      return andThen(claimProof(check.replay, replayKey, ttlSeconds), (fresh) => {
        if (!fresh) throw refuse('the proof was used before', algorithms)
        return { jkt, alg, jwk: entry.header.jwk as JWK, ...checked }
      })
    })
  })
}

/** The signature check, its failure an invalid_dpop_proof. */
function verified(
  proof: string,
  alg: string,
  key: CryptoKey,
  algorithms: readonly string[],
): void | Promise<void> {
  const fail = (error: unknown): never => {
    throw refuse('the signature does not verify with the jwk', algorithms, error)
  }
  try {
    const result = verifySignature(proof, alg, key)
    return result instanceof Promise ? result.catch(fail) : undefined
  } catch (error) {
    return fail(error)
  }
}
