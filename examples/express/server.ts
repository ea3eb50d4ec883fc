// The smallest real Express API protected by tokenward. Configuration comes from the
// environment (the library itself never reads it):
//   ISSUER             the issuer URL, exactly as in the tokens' iss (required)
//   AUDIENCE           the aud values this API trusts, comma-separated (required)
//   AUDIENCE_MODE      lenient (default): one trusted value is enough; strict: every value must be trusted
//   REQUIRED_AUDIENCE  values that must be in aud (this API's own id), comma-separated
//   PROJECT_ID         ZITADEL: read roles from urn:zitadel:iam:org:project:{PROJECT_ID}:roles
//   INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET   introspect opaque tokens (client_secret_basic)
//   PORT (default 3000), HOST (default 127.0.0.1)
import type { AddressInfo } from 'node:net'
import { createValidator, type ValidatorOptions } from '@tokenward/core'
import { requireRoles, tokenward } from '@tokenward/express'
import express from 'express'

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
// A bad option throws here, naming it: a misconfiguration never becomes a 401 later.
const validator = createValidator(options)

const app = express()
app.get('/health', (_req, res) => {
  res.json({ ok: true }) // before tokenward(): needs no token
})
app.use(tokenward(validator))
app.get('/me', (req, res) => {
  const { subject, clientId, roles, scopes } = req.auth
  res.json({ subject, clientId, roles, scopes })
})
app.get('/admin', requireRoles('admin'), (req, res) => {
  res.json({ admin: req.auth.subject })
})

const server = app.listen(Number(env('PORT') ?? 3000), env('HOST') ?? '127.0.0.1', (error) => {
  if (error !== undefined) throw error
  const { address, port } = server.address() as AddressInfo
  console.log(`listening on http://${address}:${port}`)
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close()
    server.closeAllConnections()
    void validator.close()
  })
}
