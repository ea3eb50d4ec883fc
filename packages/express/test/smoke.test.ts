// @tokenward/express in Express 5, through real HTTP (the shared smoke checks).
import express from 'express'
import { requireRoles, tokenward } from '@tokenward/express'
import { listen } from '../../core/test/support/listen.js'
import { describeSmoke } from '../../core/test/support/smoke.js'

describeSmoke('Express 5', async (validator) => {
  const app = express()
  app.use(tokenward(validator))
  app.get('/me', (req, res) => {
    res.json({ auth: req.auth })
  })
  app.get('/admin', requireRoles('admin'), (req, res) => {
    res.json({ auth: req.auth })
  })
  return listen(app)
})
