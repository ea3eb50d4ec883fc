// A real NestJS API (Express platform) protected by tokenward. Configuration comes from the
// environment (the library itself never reads it):
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
import type { AddressInfo } from 'node:net'
import { NestFactory } from '@nestjs/core'
import type { ValidatorOptions } from '@tokenward/core'
import { AppModule } from './app.module.js'

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

// Express is Nest's default platform. forceCloseConnections: close() ends idle keep-alive
// connections too, so a stopped server does not wait for its clients to hang up.
// eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- Nest types its options as a class
const app = await NestFactory.create(AppModule.register(options), {
  forceCloseConnections: true,
  logger: ['error', 'warn'],
})
await app.listen(Number(env('PORT') ?? 3000), env('HOST') ?? '127.0.0.1')
const { address, port } = (app.getHttpServer() as { address(): AddressInfo }).address()
console.log(`listening on http://${address}:${port}`)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  // app.close() runs onModuleDestroy: TokenwardModule closes the validator it created, and the
  // process ends once nothing is left to wait for.
  process.once(signal, () => {
    void app.close()
  })
}
