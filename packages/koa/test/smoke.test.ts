// @tokenward/koa in Koa 3 with @koa/router, through real HTTP (the shared smoke checks).
import Router from '@koa/router'
import Koa from 'koa'
import { requireRoles, tokenward } from '@tokenward/koa'
import { listen } from '../../core/test/support/listen.js'
import { describeSmoke } from '../../core/test/support/smoke.js'

describeSmoke('Koa 3', async (validator) => {
  const app = new Koa()
  app.use(tokenward(validator))
  const router = new Router()
  router.get('/me', (ctx) => {
    ctx.body = { auth: ctx.state.auth }
  })
  router.get('/admin', requireRoles('admin'), (ctx) => {
    ctx.body = { auth: ctx.state.auth }
  })
  app.use(router.routes())
  const handle = app.callback()
  return listen((req, res) => {
    void handle(req, res)
  })
})
