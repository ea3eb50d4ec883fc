// Validator options for a real ZITADEL instance, from environment variables (see README.md).
// A function of the environment, so it can be tested and reused with any adapter.
import type { IntrospectionOptions, ValidatorOptions } from '@tokenward/core'

export type Environment = Readonly<Record<string, string | undefined>>

/** A missing or invalid variable; the message names it. */
export class EnvironmentError extends Error {}

export function zitadelOptions(environment: Environment): ValidatorOptions {
  const get = (name: string): string | undefined => {
    const value = environment[name]?.trim()
    return value === undefined || value === '' ? undefined : value
  }
  const need = (name: string, example: string): string => {
    const value = get(name)
    if (value === undefined) throw new EnvironmentError(`set ${name}, e.g. ${name}=${example}`)
    return value
  }
  const list = (name: string): string[] =>
    (get(name) ?? '').split(',').flatMap((value) => (value.trim() === '' ? [] : [value.trim()]))

  const issuer = need('ZITADEL_ISSUER', 'https://acme-abc123.zitadel.cloud')
  const projectId = need('ZITADEL_PROJECT_ID', '170086774599581953')
  const mode = get('ZITADEL_AUDIENCE_MODE') ?? 'strict'
  if (mode !== 'strict' && mode !== 'lenient') {
    throw new EnvironmentError(`ZITADEL_AUDIENCE_MODE is strict or lenient; got ${mode}`)
  }
  // Strict: every aud value must be trusted, and ZITADEL puts the client id of every app of the
  // project in aud. List them all here (and any other project you accept tokens for).
  const trusted = [projectId, ...list('ZITADEL_TRUSTED_IDS')]

  return {
    issuer,
    // ZITADEL's defaults: ID tokens are told apart by their shape, client_id is required.
    profile: 'zitadel',
    audience: { trusted, mode, required: [projectId] },
    // urn:zitadel:iam:org:project:{projectId}:roles only: never the generic claim of a JWT.
    roles: { preset: 'zitadel', projectId },
    ...introspection(get),
  }
}

/** Opaque tokens (ZITADEL's default for user-agent and web apps) need introspection. */
function introspection(get: (name: string) => string | undefined): {
  introspection?: IntrospectionOptions
} {
  const keyFile = get('ZITADEL_KEY_FILE')
  const clientId = get('ZITADEL_CLIENT_ID')
  const clientSecret = get('ZITADEL_CLIENT_SECRET')
  const mode = get('ZITADEL_INTROSPECT') ?? 'opaque'
  if (mode !== 'opaque' && mode !== 'always') {
    throw new EnvironmentError(`ZITADEL_INTROSPECT is opaque or always; got ${mode}`)
  }
  if (keyFile !== undefined) {
    // The API application's key (JSON) from the ZITADEL console: private_key_jwt.
    return { introspection: { auth: { method: 'private_key_jwt', keyFile }, mode } }
  }
  if (clientId !== undefined && clientSecret !== undefined) {
    return {
      introspection: { auth: { method: 'client_secret_basic', clientId, clientSecret }, mode },
    }
  }
  if (clientId !== undefined || clientSecret !== undefined) {
    throw new EnvironmentError('set both ZITADEL_CLIENT_ID and ZITADEL_CLIENT_SECRET, or neither')
  }
  return {}
}
