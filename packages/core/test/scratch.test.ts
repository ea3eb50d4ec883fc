import { it } from 'vitest'
import { createValidator, toHttpResponse } from '@tokenward/core'
import { claims, createKey, freezeTime, mint, ISSUER } from './support/tokens.js'

it('probe', async () => {
  const key = await createKey()
  freezeTime()
  const tok = await mint(key, claims())
  for (const jwk of [{ kty: 'RSA', kid: 'key-1' }, { kty: 'RSA', kid: 'key-1', n: 'abc', e: 'AQAB' }, {kty: 'EC', kid: 'key-1', crv: 'P-256', x: 'a', y: 'b'}]) {
  try {
    const v4 = createValidator({ issuer: ISSUER, audience: 'https://api.example.com', jwks: { keys: [jwk] } })
    const r = await v4.validate(tok).then(() => 'ok', (e) => e)
    console.log('bad jwk accepted at config;', r?.constructor?.name, r.code, r.message, JSON.stringify(toHttpResponse(r)))
  } catch (e: any) { console.log('badjwk', e.option) }
  }
})
