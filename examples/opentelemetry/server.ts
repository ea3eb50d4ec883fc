// An Express API protected by tokenward that reports to OpenTelemetry: a span per
// authentication (a child of the request's HTTP server span) and tokenward's metrics, printed
// to the console by telemetry.ts. Configuration comes from the environment:
//   ISSUER, AUDIENCE   the issuer URL, and the aud values this API trusts (comma-separated);
//                      without ISSUER, a local issuer (@tokenward/testing) is started instead
//   PORT (default 3000; with --once a free port), HOST (default 127.0.0.1)
//   METRICS_INTERVAL_MS  how often metrics are printed (default 60000; also once on exit)
// With --once (local issuer only), it sends itself four requests, prints their spans and the
// metrics, and exits.
import { shutdownTelemetry, untracedPorts } from './telemetry.js'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { createValidator } from '@tokenward/core'
import { tokenwardTelemetry } from '@tokenward/core/opentelemetry'
import { requireScopes, tokenward } from '@tokenward/express'
import { startIssuer, type TestIssuer } from '@tokenward/testing'
import express from 'express'

function env(name: string): string | undefined {
  const value = process.env[name]?.trim()
  return value === undefined || value === '' ? undefined : value
}

const tour = process.argv.includes('--once')
let issuer = env('ISSUER')
let audience = (env('AUDIENCE') ?? '').split(',').flatMap((value) => value.trim() || [])
let local: TestIssuer | undefined
if (issuer === undefined) {
  local = await startIssuer({ audience: 'api', subject: 'alice' })
  // Its discovery and JWKS requests are not this API's: no spans for them.
  untracedPorts.add(Number(new URL(local.issuer).port))
  issuer = local.issuer
  audience = ['api']
  console.log(`local issuer on ${issuer} (set ISSUER and AUDIENCE to use your own)`)
} else if (audience.length === 0 || tour) {
  console.error(
    tour
      ? '--once mints its own tokens: leave ISSUER unset'
      : 'Set AUDIENCE too, e.g. ISSUER=https://acme.zitadel.cloud AUDIENCE=<project id>',
  )
  process.exit(1)
}

const validator = createValidator({
  issuer,
  audience,
  // Each decision becomes a span and metric points. The subject is personal data: it is
  // recorded (as enduser.id) only with recordSubject: true.
  onEvent: tokenwardTelemetry({ recordSubject: false }),
})

const app = express()
app.get('/health', (_req, res) => {
  res.json({ ok: true })
})
app.use(tokenward(validator))
app.get('/me', (req, res) => {
  res.json({ subject: req.auth.subject, scopes: req.auth.scopes })
})
app.get('/admin', requireScopes('admin'), (req, res) => {
  res.json({ admin: req.auth.subject })
})

const server = app.listen(Number(env('PORT') ?? (tour ? 0 : 3000)), env('HOST') ?? '127.0.0.1')
await once(server, 'listening')
const { address, port } = server.address() as AddressInfo
const url = `http://${address}:${port}`
console.log(`listening on ${url}`)

async function stop(): Promise<void> {
  server.close()
  server.closeAllConnections()
  await validator.close()
  await local?.close()
  await shutdownTelemetry() // prints the metrics a last time
}

if (tour && local !== undefined) {
  const reader = await local.mint({ scope: 'read' })
  const requests: [label: string, path: string, token: string | undefined][] = [
    ['a valid token', '/me', reader],
    ['the same token again: cached', '/me', reader],
    ['no token', '/me', undefined],
    ['a token without the admin scope', '/admin', reader],
  ]
  for (const [label, path, token] of requests) {
    const response = await fetch(`${url}${path}`, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    })
    await response.arrayBuffer()
    console.log(`GET ${path} with ${label}: ${response.status}`)
  }
  await stop()
} else {
  if (local !== undefined) {
    const reader = await local.mint({ scope: 'read' }, { expiresInSeconds: 3600 })
    const admin = await local.mint({ scope: 'read admin' }, { expiresInSeconds: 3600 })
    console.log(`try (tokens valid for an hour):
  curl -i ${url}/me
  curl -i ${url}/me -H "Authorization: Bearer ${reader}"
  curl -i ${url}/admin -H "Authorization: Bearer ${reader}"
  curl -i ${url}/admin -H "Authorization: Bearer ${admin}"`)
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop())
}
