import Fastify from 'fastify'
import { createValidator, renderFailure } from '@tokenward/core'
const mode = process.argv[2]
const app = Fastify()
let n = 0; app.addHook('onResponse', (r, p, d) => { n++; d() })
const H = { 'cache-control': 'no-store', 'content-type': 'application/json; charset=utf-8', 'www-authenticate': 'Bearer realm="api", error="invalid_token", error_description="The token signature is invalid"' }
const B = { error: 'invalid_token', error_description: 'The token signature is invalid', code: 'invalid_signature' }
const opts = { issuer: 'https://i.example', audience: 'api', jwks: { keys: [JSON.parse(process.env.JWK)] }, logger: false }
if (mode === 'hook401') app.addHook('onRequest', (req, reply) => { reply.code(401).headers(H).send(B) })
if (mode === 'hook401x') app.addHook('onRequest', (req, reply, next) => { reply.code(401).headers(H).send(B) })
function hook(render) {
  const v = createValidator(opts)
  app.addHook('onRequest', (req, reply, next) => {
    const fail = (e) => render(v, e, reply)
    try { const r = v.authenticateNow(req.headers.authorization); if (r instanceof Promise) r.then(() => next(), fail); else next() } catch (e) { fail(e) }
  })
}
if (mode === 'twhook') hook((v, e, reply) => { const { status, headers, body } = renderFailure(v, e); reply.code(status).headers(headers).send(body) })
if (mode === 'twhookconst') hook((v, e, reply) => { reply.code(401).headers(H).send(B) })
const E = new Error('x')
function thrower(d) { if (d > 0) return thrower(d - 1); throw E }
if (mode === 'throwconst') app.addHook('onRequest', (req, reply, next) => { try { thrower(3) } catch (e) { reply.code(401).headers(H).send(B) } })
if (mode === 'knownconst') { const v = createValidator(opts); app.addHook('onRequest', (req, reply, next) => { let r; try { r = v.authenticateNow(req.headers.authorization) } catch (e) { r = e } if (r instanceof Promise) { r.catch(() => {}) } reply.code(401).headers(H).send(B) }) }
if (mode === 'tw') { const plugin = (await import('./dist/index.js')).default; await app.register(plugin, opts) }
app.get('/', async () => ({ ok: true }))
await app.listen({ port: 0, host: '127.0.0.1' })
console.log(app.server.address().port)
process.stdin.on('data', () => { const c = process.cpuUsage(); console.log(JSON.stringify({ n, cpu: c.user + c.system })) })
process.on('SIGINT', () => process.exit(0))
