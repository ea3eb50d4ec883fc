import { generateKeyPairSync, sign, verify, createPublicKey } from 'node:crypto'
const { createValidator } = await import('../packages/core/dist/index.js')
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k', alg: 'RS256' }
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url')
const h = b64({ alg: 'RS256', kid: 'k', typ: 'JWT' })
const N = 3000, R = 8
const now = Math.floor(Date.now()/1000)
const toks = Array.from({ length: N * R * 3 + 1 }, (_, i) => { const c = b64({ iss: 'https://i.example', aud: 'api', sub: `u${i}`, exp: now + 3600, iat: now, scope: 'read write', client_id: 'c' }); return `Bearer ${h}.${c}.${sign('sha256', Buffer.from(`${h}.${c}`), privateKey).toString('base64url')}` })
const opts = { issuer: 'https://i.example', audience: 'api', jwks: { keys: [jwk] }, logger: false }
const a = createValidator(opts), b = createValidator({ ...opts, tokenCache: false })
await a.authenticate(toks.at(-1)); await b.authenticate(toks.at(-1))
const key = createPublicKey({ key: jwk, format: 'jwk' })
let k = 0; const res = { a: [], b: [], c: [] }
for (let r = 0; r < R; r++) {
  for (const [name, fn] of [['a', (x) => a.authenticateNow(x)], ['b', (x) => b.authenticateNow(x)], ['c', (x) => { const t = x.slice(7); const d = t.lastIndexOf('.'); return verify('sha256', Buffer.from(t.slice(0, d)), key, Buffer.from(t.slice(d + 1), 'base64url')) }]]) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < N; i++) fn(toks[k++])
    res[name].push(Number(process.hrtime.bigint() - t0) / N / 1000)
  }
}
const med = (xs) => xs.sort((x, y) => x - y)[xs.length >> 1]
console.log(`cache on ${med(res.a).toFixed(1)} µs, cache off ${med(res.b).toFixed(1)} µs, crypto.verify (+decode) ${med(res.c).toFixed(1)} µs`)
