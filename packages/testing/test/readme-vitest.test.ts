// api.test.ts
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { tokenward } from '@tokenward/express'
import { startIssuer, type TestIssuer } from '@tokenward/testing'

let issuer: TestIssuer
let server: Server
let api: string

beforeAll(async () => {
  issuer = await startIssuer()
  // Your app, configured with the test issuer instead of the real one.
  const app = express()
  app.use(tokenward({ issuer: issuer.issuer, audience: 'api' }))
  app.get('/me', (req, res) => {
    res.json({ subject: req.auth.subject, scopes: req.auth.scopes })
  })
  server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server.close()
  await issuer.close()
})

test('a valid token gets 200', async () => {
  const token = await issuer.mint({ sub: 'alice', aud: 'api', scope: 'read' })
  const res = await fetch(`${api}/me`, { headers: { authorization: `Bearer ${token}` } })
  expect(res.status).toBe(200)
  expect(await res.json()).toEqual({ subject: 'alice', scopes: ['read'] })
})

test('no token gets 401', async () => {
  const res = await fetch(`${api}/me`)
  expect(res.status).toBe(401)
  expect(res.headers.get('www-authenticate')).toBe('Bearer realm="api"')
})

test('an expired token gets 401 token_expired', async () => {
  const token = await issuer.mint({ aud: 'api' }, { expiresInSeconds: -60 })
  const res = await fetch(`${api}/me`, { headers: { authorization: `Bearer ${token}` } })
  expect(res.status).toBe(401)
  expect(await res.json()).toMatchObject({ code: 'token_expired' })
})
