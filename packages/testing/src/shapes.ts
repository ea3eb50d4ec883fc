/**
 * Token shapes of real issuers, for `mint(claims, { shape })` and `mintOpaque(claims, { shape })`:
 * ZITADEL's (multi-audience, project role claims, `client_id` and no `azp`) and Keycloak's
 * (`realm_access`, `resource_access`, `azp`, the `typ: Bearer` claim).
 */
import { randomInt, randomUUID } from 'node:crypto'

import type { TokenShape } from './types.js'

/** ZITADEL's project role claim value: `{ role: { orgId: orgPrimaryDomain } }`. */
export type ZitadelRoleClaim = Readonly<Record<string, Readonly<Record<string, string>>>>

/** Options of {@link zitadel}. */
export interface ZitadelShapeOptions {
  /** The API's project id: in `aud`, and in the name of the project role claim. */
  readonly projectId: string
  /**
   * Client ids of every app in the project (ZITADEL puts all of them in `aud`). Default: the
   * token's `clientId` alone.
   */
  readonly clientIds?: readonly string[]
  /** The app the token was issued to (`client_id`). Default: the first of `clientIds`, else `100000000000000002@test`. */
  readonly clientId?: string
  /**
   * Granted roles: role names (each granted in `orgId`) or the claim value itself,
   * `{ role: { orgId: domain } }`. Default: none, and no role claims (roles not asserted).
   */
  readonly roles?: readonly string[] | ZitadelRoleClaim
  /** Organisation of roles given as names. Default `100000000000000001`. */
  readonly orgId?: string
  /** Primary domain of `orgId`. Default `test.localhost`. */
  readonly orgDomain?: string
  /** Further project ids in `aud`, as the scope `urn:zitadel:iam:org:project:id:{id}:aud` adds them. */
  readonly extraAudience?: readonly string[]
}

const DEFAULT_ZITADEL_ORG = '100000000000000001'
const DEFAULT_ZITADEL_CLIENT = '100000000000000002@test'

const unique = (values: readonly string[]): string[] => [...new Set(values)]

/** A digit string like ZITADEL's snowflake ids. */
const zitadelId = (): string =>
  `${randomInt(100_000_000, 999_999_999)}${randomInt(100_000_000, 999_999_999)}`

function zitadelRoleClaim(options: ZitadelShapeOptions): ZitadelRoleClaim | undefined {
  const { roles } = options
  if (roles === undefined) return undefined
  if (!Array.isArray(roles)) return roles as ZitadelRoleClaim
  if (roles.length === 0) return undefined
  const org = { [options.orgId ?? DEFAULT_ZITADEL_ORG]: options.orgDomain ?? 'test.localhost' }
  return Object.fromEntries((roles as readonly string[]).map((role) => [role, org]))
}

/**
 * ZITADEL's JWT access token: header `typ: JWT`;
 * `aud` = every app client id of the project, then the project id, then `extraAudience`;
 * `client_id` and no `azp`; no `scope`; `nbf` = `iat`; a `V2_` `jti`; roles in both
 * `urn:zitadel:iam:org:project:{projectId}:roles` and the generic
 * `urn:zitadel:iam:org:project:roles` (the token's client is in the project). Opaque tokens of
 * this shape introspect as ZITADEL answers: with `scope` and `token_type: Bearer`.
 */
export function zitadel(options: ZitadelShapeOptions): TokenShape {
  if (typeof options.projectId !== 'string' || options.projectId === '') {
    throw new TypeError('zitadel: projectId must be a non-empty string (the API project id)')
  }
  const clientIds = options.clientIds ?? []
  const clientId = options.clientId ?? clientIds[0] ?? DEFAULT_ZITADEL_CLIENT
  const apps = clientIds.includes(clientId) ? clientIds : [clientId, ...clientIds]
  const audience = unique([...apps, options.projectId, ...(options.extraAudience ?? [])])
  const roles = zitadelRoleClaim(options)
  const roleClaims =
    roles === undefined
      ? {}
      : {
          [`urn:zitadel:iam:org:project:${options.projectId}:roles`]: roles,
          'urn:zitadel:iam:org:project:roles': roles,
        }
  return {
    name: 'zitadel',
    header: { typ: 'JWT' },
    claims: (token) => ({
      aud: audience,
      client_id: clientId,
      azp: undefined,
      scope: undefined,
      nbf: token.iat as number,
      jti: `V2_${zitadelId()}-at_${zitadelId()}`,
      ...roleClaims,
    }),
    introspection: {
      scope: `openid profile urn:zitadel:iam:org:project:id:${options.projectId}:aud`,
      token_type: 'Bearer',
    },
  }
}

/** Options of {@link keycloak}. */
export interface KeycloakShapeOptions {
  /** `realm_access.roles`. Default: no `realm_access` claim. */
  readonly realmRoles?: readonly string[]
  /** `resource_access.{clientId}.roles`, per client. Default: no `resource_access` claim. */
  readonly clientRoles?: Readonly<Record<string, readonly string[]>>
  /**
   * `aud` (a single value is a string, as Keycloak writes it). Default: no `aud`: Keycloak adds
   * one only through an audience mapper (or `account` for users with account roles).
   */
  readonly audience?: string | readonly string[]
  /** The client the token was issued to (`azp`). Default: the issuer's default client id. */
  readonly clientId?: string
  /** Default `openid profile email`. */
  readonly scope?: string
  /** `preferred_username`. Default: the token's `sub`. */
  readonly username?: string
}

/**
 * Keycloak's access token: header `typ: JWT`; claims `typ: Bearer`, `azp` (no `client_id`),
 * `realm_access.roles`, `resource_access.{client}.roles`, `scope`, `sid`, `acr`,
 * `preferred_username`, and `aud` only when `audience` is given. Keycloak's issuer has the path
 * `/realms/{realm}`: start the issuer with `issuerPath: '/realms/test'`.
 */
export function keycloak(options: KeycloakShapeOptions = {}): TokenShape {
  const { audience } = options
  const aud =
    audience === undefined || typeof audience === 'string'
      ? audience
      : audience.length === 1
        ? audience[0]
        : audience
  return {
    name: 'keycloak',
    header: { typ: 'JWT' },
    claims: (token) => {
      const username = options.username ?? token.sub
      return {
        aud,
        typ: 'Bearer',
        azp: options.clientId ?? (token.client_id as string | undefined),
        client_id: undefined,
        sid: randomUUID(),
        acr: '1',
        scope: options.scope ?? 'openid profile email',
        preferred_username: typeof username === 'string' ? username : undefined,
        email_verified: false,
        realm_access: options.realmRoles === undefined ? undefined : { roles: options.realmRoles },
        resource_access:
          options.clientRoles === undefined
            ? undefined
            : Object.fromEntries(
                Object.entries(options.clientRoles).map(([client, roles]) => [client, { roles }]),
              ),
      }
    },
    introspection: { token_type: 'Bearer' },
  }
}
