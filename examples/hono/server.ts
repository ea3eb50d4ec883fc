// A real Hono API on Node (@hono/node-server) protected by tokenward. Configuration comes from
// the environment (the library itself never reads it):
//   ISSUER             the issuer URL, exactly as in the tokens' iss (required)
//   AUDIENCE           the aud values this API trusts, comma-separated (required)
//   AUDIENCE_MODE      lenient (default): one trusted value is enough; strict: every value must be trusted
//   REQUIRED_AUDIENCE  values that must be in aud (this API's own id), comma-separated
//   PROJECT_ID         ZITADEL: read roles from urn:zitadel:iam:org:project:{PROJECT_ID}:roles
//   RESOURCE           this API's resource id (its URL, e.g. https://api.example.com): serves the
//                      RFC 9728 metadata at /.well-known/oauth-protected-resource and names it in
//                      every 401 challenge (RFC 9728 §5.1)
//   INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET   introspect opaque tokens (client_secret_basic)
//   PORT (default 3000), HOST (default 127.0.0.1)
import type { Server } from 'node:http'
import { serve } from '@hono/node-server'
import { createValidator, type ValidatorOptions } from '@tokenward/core'
import { requireRoles, requireScopes, tokenward, type TokenwardEnv } from '@tokenward/hono'
import { Hono } from 'hono'

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
const resource = env('RESOURCE')
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
  ...(resource === undefined ? {} : { resource: { id: resource } }),
  ...(clientId === undefined || clientSecret === undefined
    ? {}
    : { introspection: { auth: { method: 'client_secret_basic', clientId, clientSecret } } }),
}
// A bad option throws here, naming it: a misconfiguration never becomes a 401 later.
const validator = createValidator(options)

// TokenwardEnv types c.var.auth (Hono's Variables) as the core's AuthResult.
const app = new Hono<TokenwardEnv>()
// Registered before tokenward(): Hono answers it without running the middleware, no token needed.
app.get('/health', (c) => c.json({ ok: true }))
// Every later route needs a valid token; with RESOURCE set, this also serves the metadata.
app.use(tokenward(validator))
app.get('/me', (c) => {
  const { subject, clientId, roles, scopes } = c.var.auth
  return c.json({ subject, clientId, roles, scopes })
})
app.get('/admin', requireRoles('admin'), (c) => c.json({ admin: c.var.auth.subject }))
app.get('/reports', requireScopes('reports:read'), (c) =>
  c.json({ reports: [], reader: c.var.auth.subject }),
)

// `serve` creates a node:http server unless told otherwise (createServer, http2).
const server = serve(
  { fetch: app.fetch, port: Number(env('PORT') ?? 3000), hostname: env('HOST') ?? '127.0.0.1' },
  ({ address, port }) => {
    console.log(`listening on http://${address}:${port}`)
  },
) as Server
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close()
    server.closeAllConnections()
    void validator.close()
  })
}
