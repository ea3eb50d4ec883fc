/**
 * The issuer's signing keys: one current key per algorithm, the previous keys a rotation kept,
 * and the JWKS that publishes them.
 */
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  type GenerateKeyPairResult,
  type JWK,
} from 'jose'

import type { SigningAlgorithm } from './types.js'

/** A private signing key and what the JWKS publishes of it. */
export interface HeldKey {
  readonly alg: SigningAlgorithm
  readonly kid: string
  readonly privateKey: GenerateKeyPairResult['privateKey']
  readonly publicJwk: JWK
}

/** Every algorithm the issuer can sign with, in the order messages list them. */
export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
]

/**
 * A new key pair. The `kid` is the key's JWK thumbprint (RFC 7638), so it is unique and stable
 * for the key; the public JWK carries `kid`, `alg` and `use: sig` as issuers publish them.
 */
export async function createKey(alg: SigningAlgorithm): Promise<HeldKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(jwk)
  return { alg, kid, privateKey, publicJwk: { ...jwk, kid, alg, use: 'sig' } }
}

/** Current keys (the first signs by default) and the previous ones still published. */
export class KeyRing {
  #current: HeldKey[]
  #previous: HeldKey[] = []
  /** Unpublished keys for forged tokens, one per algorithm, made when first needed. */
  readonly #forgers = new Map<SigningAlgorithm, Promise<HeldKey>>()

  private constructor(current: HeldKey[]) {
    this.#current = current
  }

  static async create(algorithms: readonly SigningAlgorithm[]): Promise<KeyRing> {
    return new KeyRing(await Promise.all(algorithms.map(createKey)))
  }

  /** The key that signs when a mint names none. */
  get default(): HeldKey {
    return this.#current[0]!
  }

  get algorithms(): SigningAlgorithm[] {
    return this.#current.map((key) => key.alg)
  }

  /** Published `kid`s, current keys first. */
  get kids(): string[] {
    return this.#published().map((key) => key.kid)
  }

  /** The JWKS document (RFC 7517 §5). */
  jwks(): { keys: JWK[] } {
    return { keys: this.#published().map((key) => ({ ...key.publicJwk })) }
  }

  /**
   * The key a mint signs with: the current key of `alg`, else the held key named `kid`, else
   * the default key. An `alg` the ring holds no key for is an error naming the held ones.
   */
  select(alg: SigningAlgorithm | undefined, kid: string | undefined): HeldKey {
    if (alg !== undefined) {
      const key = this.#current.find((held) => held.alg === alg)
      if (key === undefined) {
        throw new TypeError(
          `mint: header.alg ${alg} names no key this issuer holds (it holds ${this.algorithms.join(', ')}; start it with algorithm: [...] to add one)`,
        )
      }
      return key
    }
    return this.#published().find((held) => held.kid === kid) ?? this.default
  }

  /** A key of `alg` that the JWKS never publishes. */
  forger(alg: SigningAlgorithm): Promise<HeldKey> {
    let key = this.#forgers.get(alg)
    if (key === undefined) {
      key = createKey(alg)
      this.#forgers.set(alg, key)
    }
    return key
  }

  /** New current keys for every algorithm; the old ones become previous keys or are dropped. */
  async rotate(dropPrevious: boolean): Promise<void> {
    const next = await Promise.all(this.algorithms.map(createKey))
    this.#previous = dropPrevious ? [] : [...this.#current, ...this.#previous]
    this.#current = next
  }

  #published(): HeldKey[] {
    return [...this.#current, ...this.#previous]
  }
}
