/**
 * Minting: the default claims and header of an access token, laid under a shape and the
 * caller's overrides, and the signature.
 */
import { randomBytes, randomUUID } from 'node:crypto'

import { CompactSign, type CompactJWSHeaderParameters } from 'jose'

import type { KeyRing } from './keys.js'
import type {
  MintOpaqueOptions,
  MintOptions,
  SigningAlgorithm,
  TokenClaims,
  TokenShape,
} from './types.js'

/** A JSON object being built: insertion-ordered, and `__proto__` is an ordinary key. */
export type JsonObject = Record<string, unknown>

/** What every token of an issuer starts from. */
export interface MintDefaults {
  readonly issuer: string
  readonly audience: string | readonly string[]
  readonly subject: string
  readonly clientId: string
  readonly expiresInSeconds: number
  readonly clock: () => number
}

/**
 * Lays objects over each other, later ones winning; a key whose value is `undefined` removes the
 * key. `Object.fromEntries` defines own properties, so no key can reach a prototype.
 */
export function layer(...objects: readonly (Readonly<JsonObject> | undefined)[]): JsonObject {
  const merged = new Map<string, unknown>()
  for (const object of objects) {
    if (object === undefined) continue
    for (const [key, value] of Object.entries(object)) {
      if (value === undefined) merged.delete(key)
      else merged.set(key, value)
    }
  }
  return Object.fromEntries(merged)
}

const hasKey = (object: Readonly<JsonObject> | undefined, key: string): boolean =>
  object !== undefined && Object.hasOwn(object, key)

function checkLifetime(value: number | undefined, where: string): void {
  if (value !== undefined && !Number.isFinite(value)) {
    throw new TypeError(`${where}: expiresInSeconds must be a finite number; got ${String(value)}`)
  }
}

/**
 * The claims of a new token: defaults (`iss`, `sub`, `aud`, `iat`, `exp`, `jti`, `client_id`),
 * then the shape's claims, then the caller's. Unless a layer sets `exp`, it is the final `iat`
 * (or now, when `iat` was removed or is not a number) plus the lifetime.
 */
export function buildClaims(
  defaults: MintDefaults,
  claims: TokenClaims | undefined,
  options: MintOptions | MintOpaqueOptions,
  where: string,
): { claims: JsonObject; shapeClaims: JsonObject | undefined } {
  checkLifetime(options.expiresInSeconds, where)
  const now = Math.floor((options.issuedAt?.getTime() ?? defaults.clock()) / 1000)
  const base: JsonObject = {
    iss: defaults.issuer,
    sub: defaults.subject,
    aud: defaults.audience,
    iat: now,
    jti: randomUUID(),
    client_id: defaults.clientId,
  }
  // A shape's function sees the token as the call would have it, so derived claims (ZITADEL's
  // nbf = iat, Keycloak's preferred_username = sub) follow the caller's values.
  const shapeClaims = resolveShapeClaims(options.shape, layer(base, claims))
  const merged = layer(base, shapeClaims, claims)
  if (!hasKey(shapeClaims, 'exp') && !hasKey(claims, 'exp')) {
    const iat = typeof merged.iat === 'number' ? merged.iat : now
    merged.exp = iat + (options.expiresInSeconds ?? defaults.expiresInSeconds)
  }
  return { claims: merged, shapeClaims }
}

function resolveShapeClaims(
  shape: TokenShape | undefined,
  token: JsonObject,
): JsonObject | undefined {
  if (shape === undefined) return undefined
  const { claims } = shape
  return typeof claims === 'function' ? claims(Object.freeze(token)) : claims
}

/** A compact JWS of `claims` (RFC 7515 §7.1), header defaults `alg`, `kid`, `typ: at+jwt`. */
export async function signToken(
  keys: KeyRing,
  claims: JsonObject,
  options: MintOptions,
): Promise<string> {
  const overrides = layer(options.shape?.header, options.header)
  const key = keys.select(
    overrides.alg as SigningAlgorithm | undefined,
    typeof overrides.kid === 'string' ? overrides.kid : undefined,
  )
  // All layers at once, so an `undefined` in an override removes the default too.
  const header = layer(
    { alg: key.alg, kid: key.kid, typ: 'at+jwt' },
    options.shape?.header,
    options.header,
    { alg: key.alg },
  ) as CompactJWSHeaderParameters
  const signer = options.forged === true ? await keys.forger(key.alg) : key
  const payload = new TextEncoder().encode(JSON.stringify(claims))
  return new CompactSign(payload).setProtectedHeader(header).sign(signer.privateKey)
}

/** A random opaque token: 256 bits, base64url, so it never looks like a JWS (no dots). */
export function opaqueToken(): string {
  return randomBytes(32).toString('base64url')
}
