/**
 * Authorization data: where roles are read from, how scopes are read, and whether a token meets
 * a route's requirements. Audience says who a token is for; only roles and scopes say what the
 * caller may do.
 */
import { TokenwardError } from './errors.js'
import { fail, isObject, nonEmptyStrings, refuseUnknownOptions } from './option-values.js'
import type { Claims, Requirements, RoleMap, RolesOption, ValidatorOptions } from './types.js'

/** Reads the roles of a token. `source` matters for ZITADEL (see {@link zitadelRoles}). */
export type RoleReader = (claims: Claims, source: 'jwt' | 'introspection') => RoleMap

const ZITADEL_GENERIC_CLAIM = 'urn:zitadel:iam:org:project:roles'
const zitadelProjectClaim = (projectId: string): string =>
  `urn:zitadel:iam:org:project:${projectId}:roles`

const NO_ROLES: RoleMap = Object.freeze(Object.create(null) as Record<string, readonly string[]>)

/* eslint-disable @typescript-eslint/no-unnecessary-condition --
   Options come from JavaScript callers and JSON files too: these checks run against values the
   types already forbid. */
/**
 * The reader of the `roles` option; throws a `ConfigurationError`. `projectIds`: the API's own
 * audience values (`audience.required`), which are its ZITADEL project ids for `'zitadel'`.
 */
export function roleReader(
  options: Pick<ValidatorOptions, 'roles' | 'profile'>,
  projectIds: readonly string[],
): RoleReader {
  const roles =
    options.roles ??
    (options.profile === 'zitadel' && projectIds.length > 0 ? 'zitadel' : undefined)
  if (
    roles === undefined ||
    typeof roles === 'function' ||
    roles === 'keycloak' ||
    roles === 'scope'
  ) {
    return createRoleReader(roles, [])
  }
  if (roles === 'zitadel') {
    if (projectIds.length === 0) {
      fail(
        'roles',
        "'zitadel' reads the role claim of this API's project, so it needs the project id: set audience.required: ['<project id>'] or roles: { preset: 'zitadel', projectId: '<project id>' }",
      )
    }
    return createRoleReader(roles, projectIds)
  }
  if (!isObject(roles))
    fail(
      'roles',
      "must be 'zitadel', 'keycloak', 'scope', { preset, ... }, { claim } or a function",
    )
  if ('claim' in roles) {
    refuseUnknownOptions('roles', ['claim'], roles)
    const claim = roles.claim
    if (
      !(typeof claim === 'string' && claim !== '') &&
      !(
        Array.isArray(claim) &&
        claim.length > 0 &&
        claim.every((c) => typeof c === 'string' && c !== '')
      )
    ) {
      fail('roles.claim', 'must be a claim name, or a path such as ["realm_access", "roles"]')
    }
    return createRoleReader(roles, [])
  }
  if (roles.preset === 'zitadel') {
    refuseUnknownOptions('roles', ['preset', 'projectId', 'trustGenericClaim'], roles)
    const projectId = roles.projectId
    if (projectId === undefined) {
      fail(
        'roles.projectId',
        'is required: the ZITADEL project id of this API (its role claim is urn:zitadel:iam:org:project:{projectId}:roles)',
      )
    }
    if (typeof projectId !== 'string' || projectId === '') {
      nonEmptyStrings(projectId, 'roles.projectId', 'give the ZITADEL project id(s) of this API')
    }
    if (roles.trustGenericClaim !== undefined && typeof roles.trustGenericClaim !== 'boolean') {
      fail('roles.trustGenericClaim', 'must be a boolean')
    }
    return createRoleReader(roles, [])
  }
  if (roles.preset === 'keycloak') {
    refuseUnknownOptions('roles', ['preset', 'clientId'], roles)
    if (roles.clientId !== undefined && typeof roles.clientId !== 'string') {
      nonEmptyStrings(
        roles.clientId,
        'roles.clientId',
        'give the Keycloak client id(s) whose roles to read',
      )
    }
    return createRoleReader(roles, [])
  }
  return fail(
    'roles.preset',
    `must be 'zitadel' or 'keycloak'; got ${String((roles as { preset?: unknown }).preset)}`,
  )
}

/* eslint-enable @typescript-eslint/no-unnecessary-condition */

/** The reader when no `roles` option is given: no token grants any role. */
export const NO_ROLE_READER: RoleReader = () => NO_ROLES

/** The reader for a checked `roles` option. */
function createRoleReader(
  option: RolesOption | undefined,
  projectIds: readonly string[],
): RoleReader {
  if (option === undefined) return NO_ROLE_READER
  if (typeof option === 'function') return (claims) => toRoleMap(option(claims))
  if (option === 'zitadel') return zitadelRoles(projectIds, false)
  if (option === 'keycloak') return keycloakRoles(undefined)
  if (option === 'scope') return (claims) => toRoleMap(readScopes(claims))
  if ('preset' in option) {
    if (option.preset === 'zitadel') {
      return zitadelRoles(asList(option.projectId), option.trustGenericClaim === true)
    }
    return keycloakRoles(option.clientId === undefined ? undefined : asList(option.clientId))
  }
  const path = asList(option.claim)
  return (claims) => toRoleMap(readPath(claims, path))
}

/**
 * ZITADEL: `urn:zitadel:iam:org:project:{id}:roles` for this API's project ids. On a JWT the
 * generic claim describes the project of the client that asked for the token, so it is read
 * only when trusted explicitly; an introspection answer describes the introspecting API's
 * project, so there both claims are read.
 */
function zitadelRoles(projectIds: readonly string[], trustGeneric: boolean): RoleReader {
  const claimNames = projectIds.map(zitadelProjectClaim)
  return (claims, source) => {
    const maps = claimNames.map((name) => claims[name])
    if (trustGeneric || source === 'introspection') maps.push(claims[ZITADEL_GENERIC_CLAIM])
    return mergeRoleMaps(maps.map(zitadelRoleMap))
  }
}

/** ZITADEL's `{ role: { orgId: domain } }`; any other shape grants nothing. */
function zitadelRoleMap(value: unknown): RoleMap {
  const roles: Record<string, readonly string[]> = Object.create(null) as Record<
    string,
    readonly string[]
  >
  if (!isObject(value)) return roles
  for (const [role, orgs] of Object.entries(value)) {
    if (isObject(orgs) && Object.values(orgs).every((domain) => typeof domain === 'string')) {
      roles[role] = Object.keys(orgs)
    }
  }
  return roles
}

/** Keycloak: realm roles, plus client roles (`client:role`, or unprefixed for `clientIds`). */
function keycloakRoles(clientIds: readonly string[] | undefined): RoleReader {
  return (claims) => {
    const roles: string[] = [...stringsOf(readPath(claims, ['realm_access', 'roles']))]
    const access = claims.resource_access
    if (isObject(access)) {
      for (const [client, entry] of Object.entries(access)) {
        const clientRoles = stringsOf(isObject(entry) ? entry.roles : undefined)
        if (clientIds === undefined) roles.push(...clientRoles.map((role) => `${client}:${role}`))
        else if (clientIds.includes(client)) roles.push(...clientRoles)
      }
    }
    return toRoleMap(roles)
  }
}

/**
 * A role value as a {@link RoleMap}: a list or space-delimited string of role names (granted
 * in no particular organisation), ZITADEL's `{ role: { orgId: domain } }`, or a
 * `{ role: [orgId, …] }` map. Anything else, or a malformed member, counts as no role.
 */
export function toRoleMap(value: unknown): RoleMap {
  const roles: Record<string, readonly string[]> = Object.create(null) as Record<
    string,
    readonly string[]
  >
  if (typeof value === 'string' || Array.isArray(value)) {
    for (const role of stringsOf(value)) roles[role] = []
  } else if (isObject(value)) {
    for (const [role, orgs] of Object.entries(value)) {
      if (Array.isArray(orgs)) roles[role] = stringsOf(orgs)
      else if (isObject(orgs)) roles[role] = Object.keys(orgs)
    }
  }
  return roles
}

function mergeRoleMaps(maps: readonly RoleMap[]): RoleMap {
  const merged: Record<string, string[]> = Object.create(null) as Record<string, string[]>
  for (const map of maps) {
    for (const [role, orgs] of Object.entries(map)) {
      const into = (merged[role] ??= [])
      for (const org of orgs) if (!into.includes(org)) into.push(org)
    }
  }
  return merged
}

/** Scopes from `scope` (space-delimited, RFC 9068 §2.2.3) and `scp` (a list). */
export function readScopes(claims: Claims): readonly string[] {
  const scopes = new Set([...stringsOf(claims.scope), ...stringsOf(claims.scp)])
  return [...scopes]
}

/**
 * Throws `insufficient_scope` (naming the required scopes in the challenge) or
 * `insufficient_role` (naming no roles) when the token does not meet `requirements`.
 */
export function checkRequirements(
  granted: { readonly scopes: readonly string[]; readonly roles: RoleMap },
  requirements: Requirements,
): void {
  const { scopes, roles } = requirements
  if (scopes !== undefined && scopes.length > 0) {
    const missing = scopes.filter((scope) => !granted.scopes.includes(scope))
    if (missing.length > 0) {
      throw new TokenwardError('insufficient_scope', {
        detail: `missing ${missing.join(' ')}`,
        scope: scopes,
      })
    }
  }
  if (roles === undefined) return
  const { allOf, anyOf, org } = isRoleList(roles)
    ? { allOf: roles, anyOf: undefined, org: undefined }
    : roles
  const has = (role: string): boolean => {
    const orgs = Object.hasOwn(granted.roles, role) ? granted.roles[role] : undefined
    return orgs !== undefined && (org === undefined || orgs.includes(org))
  }
  const allMet = allOf === undefined || allOf.every(has)
  const anyMet = anyOf === undefined || anyOf.length === 0 || anyOf.some(has)
  if (!allMet || !anyMet) throw new TokenwardError('insufficient_role')
}

function isRoleList(roles: Requirements['roles']): roles is readonly string[] {
  return Array.isArray(roles)
}

function readPath(claims: Claims, path: readonly string[]): unknown {
  let value: unknown = claims
  for (const key of path) {
    if (!isObject(value) || !Object.hasOwn(value, key)) return undefined
    value = value[key]
  }
  return value
}

function stringsOf(value: unknown): readonly string[] {
  if (typeof value === 'string') return value.split(' ').filter((s) => s.length > 0)
  if (Array.isArray(value))
    return value.filter((s): s is string => typeof s === 'string' && s.length > 0)
  return []
}

function asList(value: string | readonly string[]): readonly string[] {
  return typeof value === 'string' ? [value] : value
}
