/**
 * @tokenward/testing: a local OAuth 2.0 / OpenID Connect issuer for the tests of an API that
 * accepts bearer tokens. One call starts it on 127.0.0.1; it serves discovery, the JWKS and
 * introspection, mints JWT and opaque tokens (ZITADEL and Keycloak shapes included), rotates
 * keys and simulates outages.
 *
 * @packageDocumentation
 */
export { startIssuer } from './issuer.js'
export { keycloak, zitadel } from './shapes.js'
export type { KeycloakShapeOptions, ZitadelRoleClaim, ZitadelShapeOptions } from './shapes.js'
export type {
  ClientCredentials,
  IssuerOptions,
  MintOpaqueOptions,
  MintOptions,
  OutageKind,
  OutageMode,
  RequestCounts,
  RotateOptions,
  Rotation,
  SigningAlgorithm,
  TestIssuer,
  TokenClaims,
  TokenHeader,
  TokenShape,
} from './types.js'
