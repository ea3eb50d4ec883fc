// The smallest real Fastify API protected by tokenward. Configuration comes from the
// environment (the library itself never reads it):
//   ISSUER             the issuer URL, exactly as in the tokens' iss (required)
//   AUDIENCE           the aud values this API trusts, comma-separated (required)
//   AUDIENCE_MODE      lenient (default): one trusted value is enough; strict: every value must be trusted
//   REQUIRED_AUDIENCE  values that must be in aud (this API's own id), comma-separated
//   PROJECT_ID         ZITADEL: read roles from urn:zitadel:iam:org:project:{PROJECT_ID}:roles
//   INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET   introspect opaque tokens (client_secret_basic)
//   PORT (default 3000), HOST (default 127.0.0.1)
import type { ValidatorOptions } from '@tokenward/core'
import tokenward from '@tokenward/fastify'
import Fastify from 'fastify'

function env(name: string): string | undefined {
  const value = process.env[name]?.trim()
  return value === undefined || value === '' ? undefined : value
}
function list(name: string): string[] {
  return (env(name) ?? '')
    .split(',')
    .flatMap((value) => (value.trim() === '' ? [] : [value.trim()]))
}

const issuer = env('ISSUER')
const trusted = list('AUDIENCE')
if (issuer === undefined || trusted.length === 0) {
  console.error(
    'Set ISSUER and AUDIENCE, e.g. ISSUER=https://acme.zitadel.cloud AUDIENCE=<project id>',
  )
  process.exit(1)
}
const required = list('REQUIRED_AUDIENCE')
const projectId = env('PROJECT_ID')
const clientId = env('INTROSPECTION_CLIENT_ID')
const clientSecret = env('INTROSPECTION_CLIENT_SECRET')

const options: ValidatorOptions = {
  issuer,
  audience: {
    trusted,
    mode: env('AUDIENCE_MODE') === 'strict' ? 'strict' : 'lenient',
    ...(required.length > 0 ? { required } : {}),
  },
  ...(projectId === undefined ? {} : { roles: { preset: 'zitadel', projectId } }),
  ...(clientId === undefined || clientSecret === undefined
    ? {}
    : { introspection: { auth: { method: 'client_secret_basic', clientId, clientSecret } } }),
}

const fastify = Fastify()
// A bad option fails the registration, naming it. The plugin authenticates every route.
await fastify.register(tokenward, options)

fastify.get('/health', { config: { tokenward: false } }, () => ({ ok: true }))
fastify.get('/me', (request) => {
  const { subject, clientId, roles, scopes } = request.auth
  return { subject, clientId, roles, scopes }
})
fastify.get('/admin', { preHandler: fastify.requireRoles('admin') }, (request) => ({
  admin: request.auth.subject,
}))

const url = await fastify.listen({
  port: Number(env('PORT') ?? 3000),
  host: env('HOST') ?? '127.0.0.1',
})
console.log(`listening on ${url}`)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void fastify.close() // also closes the validator the plugin created
  })
}
