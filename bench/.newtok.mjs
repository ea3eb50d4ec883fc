import { generateKeyPairSync, sign, verify, createPublicKey } from 'node:crypto'
const { createValidator } = await import('../packages/core/dist/index.js')
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k', alg: 'RS256' }
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url')
const h = b64({ alg: 'RS256', kid: 'k', typ: 'JWT' })
const N = Number(process.argv[2] ?? 20000)
const toks = Array.from({ length: N + 1 }, (_, i) => { const c = b64({ iss: 'https://i.example', aud: 'api', sub: `u${i}`, exp: Math.floor(Date.now()/1000) + 3600, iat: Math.floor(Date.now()/1000), scope: 'read write', client_id: 'c' }); return `${h}.${c}.${sign('sha256', Buffer.from(`${h}.${c}`), privateKey).toString('base64url')}` })
const v = createValidator({ issuer: 'https://i.example', audience: 'api', jwks: { keys: [jwk] }, logger: false })
await v.authenticate(`Bearer ${toks[N]}`)
const headers = toks.map((t) => `Bearer ${t}`)
let t = process.hrtime.bigint()
for (let i = 0; i < N; i++) v.authenticateNow(headers[i])
const tw = Number(process.hrtime.bigint() - t) / N / 1000
const key = createPublicKey({ key: jwk, format: 'jwk' })
const parts = toks.map((x) => { const d = x.lastIndexOf('.'); return [Buffer.from(x.slice(0, d)), Buffer.from(x.slice(d + 1), 'base64url')] })
t = process.hrtime.bigint()
for (let i = 0; i < N; i++) verify('sha256', parts[i][0], key, parts[i][1])
const cv = Number(process.hrtime.bigint() - t) / N / 1000
console.log(`new token ${tw.toFixed(1)} µs, crypto.verify ${cv.toFixed(1)} µs, ratio ${(tw / cv).toFixed(2)}`)
