/* global Buffer, URLSearchParams, process */
// A minimal OAuth 2.0 issuer for the benchmark: OIDC discovery, the JWKS, and an RFC 7662
// introspection endpoint that answers `active: true` for every token. It only serves keys the
// driver gives it (BENCH_ISSUER_JWKS); the driver signs the tokens. Loopback only.
import { createServer } from 'node:http'

const jwks = JSON.parse(process.env.BENCH_ISSUER_JWKS ?? '{"keys":[]}')
const audience = process.env.BENCH_AUDIENCE ?? 'https://api.bench.test'
const clientAuth = `Basic ${Buffer.from('bench-api:bench-secret').toString('base64')}`
const counts = { discovery: 0, jwks: 0, introspection: 0 }

const server = createServer((req, res) => {
  const base = `http://127.0.0.1:${server.address().port}`
  const send = (status, body) => {
    const text = JSON.stringify(body)
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
    })
    res.end(text)
  }
  const url = req.url ?? '/'
  if (req.method === 'GET' && url === '/.well-known/openid-configuration') {
    counts.discovery++
    send(200, {
      issuer: base,
      jwks_uri: `${base}/jwks`,
      introspection_endpoint: `${base}/introspect`,
      id_token_signing_alg_values_supported: ['RS256', 'ES256'],
    })
    return
  }
  if (req.method === 'GET' && url === '/jwks') {
    counts.jwks++
    send(200, jwks)
    return
  }
  if (req.method === 'GET' && url === '/counts') {
    send(200, counts)
    return
  }
  if (req.method === 'POST' && url === '/introspect') {
    counts.introspection++
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk) => {
      body += chunk
      if (body.length > 65536) req.destroy()
    })
    req.on('end', () => {
      if (req.headers.authorization !== clientAuth) {
        send(401, { error: 'invalid_client' })
        return
      }
      const token = new URLSearchParams(body).get('token') ?? ''
      const now = Math.floor(Date.now() / 1000)
      send(200, {
        active: true,
        iss: base,
        aud: audience,
        sub: `opaque-${token.slice(0, 8)}`,
        client_id: 'bench-client',
        scope: 'read write',
        token_type: 'Bearer',
        iat: now,
        exp: now + 3600,
      })
    })
    return
  }
  send(404, { error: 'not_found' })
})

server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${server.address().port}\n`)
})

// The driver closes stdin when it is done (or dies): stop then.
process.stdin.on('data', () => {})
process.stdin.on('end', () => {
  server.close()
  server.closeAllConnections()
})
process.stdin.resume()
