// @tokenward/fastify in Fastify 5, through real HTTP (the shared smoke checks).
import { fastify } from 'fastify'
import tokenward from '@tokenward/fastify'
import { describeSmoke } from '../../core/test/support/smoke.js'

describeSmoke('Fastify 5', async (validator) => {
  const app = fastify()
  await app.register(tokenward, { validator })
  app.get('/me', (request) => ({ auth: request.auth }))
  app.get('/admin', { preHandler: app.requireRoles('admin') }, (request) => ({
    auth: request.auth,
  }))
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  return {
    url,
    async close() {
      await app.close()
    },
  }
})
