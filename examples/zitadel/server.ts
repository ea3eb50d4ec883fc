// An Express API for a real ZITADEL instance: `ZITADEL_ISSUER=… ZITADEL_PROJECT_ID=… pnpm start`
// (see README.md for every variable). Routes: /health (no token), /me, /admin (role admin).
import type { AddressInfo } from 'node:net'
import { createValidator } from '@tokenward/core'
import { requireRoles, tokenward } from '@tokenward/express'
import express from 'express'
import { EnvironmentError, zitadelOptions } from './config.js'

let options
try {
  options = zitadelOptions(process.env)
} catch (error) {
  if (!(error instanceof EnvironmentError)) throw error
  console.error(error.message)
  process.exit(1)
}
const validator = createValidator(options)

const app = express()
app.get('/health', (_req, res) => {
  res.json({ ok: true })
})
app.use(tokenward(validator))
app.get('/me', (req, res) => {
  const { subject, clientId, roles, source } = req.auth
  res.json({ subject, clientId, roles, source })
})
app.get('/admin', requireRoles('admin'), (req, res) => {
  res.json({ admin: req.auth.subject })
})

const server = app.listen(
  Number(process.env.PORT ?? 3000),
  process.env.HOST ?? '127.0.0.1',
  (error) => {
    if (error !== undefined) throw error
    const { address, port } = server.address() as AddressInfo
    console.log(`listening on http://${address}:${port}`)
  },
)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close()
    server.closeAllConnections()
    void validator.close()
  })
}
