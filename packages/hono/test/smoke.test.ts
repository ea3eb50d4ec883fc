// @tokenward/hono in Hono 4 on @hono/node-server, through real HTTP (the shared smoke checks).
import { getRequestListener } from '@hono/node-server'
import { Hono } from 'hono'
import { requireRoles, tokenward, type TokenwardEnv } from '@tokenward/hono'
import { listen } from '../../core/test/support/listen.js'
import { describeSmoke } from '../../core/test/support/smoke.js'

describeSmoke('Hono 4', async (validator) => {
  const app = new Hono<TokenwardEnv>()
  app.use(tokenward(validator))
  app.get('/me', (c) => c.json({ auth: c.var.auth }))
  app.get('/admin', requireRoles('admin'), (c) => c.json({ auth: c.var.auth }))
  const handle = getRequestListener(app.fetch)
  return listen((req, res) => {
    void handle(req, res)
  })
})
