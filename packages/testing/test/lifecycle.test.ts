// Key rotation, outage switches, request counters and close(), through real HTTP.
import { createServer } from 'node:net'
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createValidator } from '@tokenward/core'
import { startIssuer, type OutageKind, type TestIssuer } from '@tokenward/testing'

/** Verifies with a fresh key set (no cache between calls). */
const verify = (issuer: TestIssuer, token: string) =>
  jwtVerify(token, createRemoteJWKSet(new URL(issuer.jwksUri)), { issuer: issuer.issuer })

const publishedKids = async (issuer: TestIssuer): Promise<string[]> => {
  const { keys } = (await (await fetch(issuer.jwksUri)).json()) as { keys: { kid: string }[] }
  return keys.map((key) => key.kid)
}

describe('rotateKeys', () => {
  it('signs with a new key and keeps the previous one published', async () => {
    const issuer = await startIssuer()
    try {
      const [oldKid] = issuer.kids
      const before = await issuer.mint()
      const rotation = await issuer.rotateKeys()
      expect(rotation.kid).not.toBe(oldKid)
      expect(rotation.kids).toEqual([rotation.kid, oldKid])
      expect(await publishedKids(issuer)).toEqual([rotation.kid, oldKid])

      const after = await issuer.mint()
      expect(decodeProtectedHeader(after).kid).toBe(rotation.kid)
      await verify(issuer, after)
      await verify(issuer, before)

      // A kid naming a kept key signs with that key.
      const withOld = await issuer.mint({}, { header: { kid: oldKid } })
      expect(decodeProtectedHeader(withOld).kid).toBe(oldKid)
      await verify(issuer, withOld)
    } finally {
      await issuer.close()
    }
  })

  it('drops the previous keys when asked: their tokens stop verifying', async () => {
    const issuer = await startIssuer()
    try {
      const before = await issuer.mint()
      await issuer.rotateKeys()
      const latest = await issuer.rotateKeys({ dropPrevious: true })
      expect(latest.kids).toEqual([latest.kid])
      expect(await publishedKids(issuer)).toEqual([latest.kid])
      await expect(verify(issuer, before)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey)
      await verify(issuer, await issuer.mint())
    } finally {
      await issuer.close()
    }
  })

  it('rotates the key of every algorithm', async () => {
    const issuer = await startIssuer({ algorithm: ['ES256', 'EdDSA'] })
    try {
      const old = issuer.kids
      const { kids } = await issuer.rotateKeys()
      expect(kids).toHaveLength(4)
      expect(kids.slice(2)).toEqual(old)
      const token = await issuer.mint({}, { header: { alg: 'EdDSA' } })
      expect(decodeProtectedHeader(token).kid).toBe(kids[1])
      await verify(issuer, token)
    } finally {
      await issuer.close()
    }
  })
})

describe('setOutage', () => {
  let issuer: TestIssuer
  beforeAll(async () => {
    issuer = await startIssuer()
  })
  afterAll(() => issuer.close())

  const statuses = async () => {
    const [discovery, jwks, introspection, other] = await Promise.all([
      fetch(issuer.discoveryUrl),
      fetch(issuer.jwksUri),
      fetch(issuer.introspectionEndpoint, { method: 'POST', body: new URLSearchParams() }),
      fetch(`${issuer.origin}/elsewhere`),
    ])
    return {
      discovery: discovery.status,
      jwks: jwks.status,
      introspection: introspection.status,
      other: other.status,
    }
  }
  const up = { discovery: 200, jwks: 200, introspection: 401, other: 404 }

  it.each<OutageKind>(['discovery', 'jwks', 'introspection'])(
    "takes down only '%s' with 503, until setOutage(null)",
    async (kind) => {
      issuer.setOutage(kind)
      expect(await statuses()).toEqual({ ...up, [kind]: 503 })
      const res = await fetch(kind === 'jwks' ? issuer.jwksUri : issuer.discoveryUrl)
      if (res.status === 503) {
        expect(await res.json()).toMatchObject({ error: 'temporarily_unavailable' })
      }
      issuer.setOutage(null)
      expect(await statuses()).toEqual(up)
    },
  )

  it("takes down every path with 'all', and several kinds at once", async () => {
    issuer.setOutage('all')
    expect(await statuses()).toEqual({ discovery: 503, jwks: 503, introspection: 503, other: 503 })
    issuer.setOutage(['jwks', 'introspection'])
    expect(await statuses()).toEqual({ ...up, jwks: 503, introspection: 503 })
    issuer.setOutage('discovery') // replaces the previous outage
    expect(await statuses()).toEqual({ ...up, discovery: 503 })
    issuer.setOutage(null)
    expect(await statuses()).toEqual(up)
  })

  it("drops connections in 'reset' mode: clients see a network error", async () => {
    issuer.setOutage('jwks', 'reset')
    await expect(fetch(issuer.jwksUri)).rejects.toThrow(TypeError)
    expect((await fetch(issuer.discoveryUrl)).status).toBe(200)
    issuer.setOutage(null)
    expect((await fetch(issuer.jwksUri)).status).toBe(200)
  })

  it('refuses an unknown kind or mode', () => {
    expect(() => {
      issuer.setOutage('token' as OutageKind)
    }).toThrow('setOutage: kind must be one of discovery, jwks, introspection, all or null')
    expect(() => {
      issuer.setOutage('jwks', 'refuse' as 'reset')
    }).toThrow("setOutage: mode must be 'status' or 'reset'")
  })

  it("uses the issuer's outageMode by default", async () => {
    const resetting = await startIssuer({ outageMode: 'reset' })
    try {
      resetting.setOutage('all')
      await expect(fetch(resetting.discoveryUrl)).rejects.toThrow(TypeError)
      resetting.setOutage('all', 'status')
      expect((await fetch(resetting.discoveryUrl)).status).toBe(503)
    } finally {
      await resetting.close()
    }
  })

  it('makes a resource server answer 503 while its keys are unreachable', async () => {
    const fresh = await startIssuer()
    const validator = createValidator({ issuer: fresh.issuer, audience: 'api' })
    try {
      fresh.setOutage('jwks')
      await expect(validator.validate(await fresh.mint())).rejects.toMatchObject({
        code: 'upstream_unavailable',
        status: 503,
      })
    } finally {
      await validator.close()
      await fresh.close()
    }
  })
})

describe('request counters', () => {
  it('counts requests by endpoint, outages included, until reset', async () => {
    const issuer = await startIssuer()
    try {
      expect(issuer.requests).toEqual({
        discovery: 0,
        jwks: 0,
        introspection: 0,
        other: 0,
        total: 0,
      })
      await fetch(issuer.discoveryUrl)
      await fetch(`${issuer.origin}/.well-known/oauth-authorization-server`)
      await fetch(issuer.jwksUri)
      issuer.setOutage('jwks')
      await fetch(issuer.jwksUri)
      issuer.setOutage(null)
      await fetch(issuer.introspectionEndpoint, { method: 'POST' })
      await fetch(`${issuer.origin}/nothing`)
      expect(issuer.requests).toEqual({
        discovery: 2,
        jwks: 2,
        introspection: 1,
        other: 1,
        total: 6,
      })
      issuer.resetRequests()
      expect(issuer.requests.total).toBe(0)
    } finally {
      await issuer.close()
    }
  })

  it("shows a resource server's caching: one discovery and one JWKS fetch for many tokens", async () => {
    const issuer = await startIssuer()
    const validator = createValidator({ issuer: issuer.issuer, audience: 'api' })
    try {
      for (let i = 0; i < 5; i += 1) {
        await validator.validate(await issuer.mint({ sub: `user-${i}` }))
      }
      expect(issuer.requests).toMatchObject({ discovery: 1, jwks: 1, introspection: 0 })
    } finally {
      await validator.close()
      await issuer.close()
    }
  })
})

describe('close', () => {
  it('frees the port, even with a keep-alive connection open, and is idempotent', async () => {
    const issuer = await startIssuer()
    await fetch(issuer.jwksUri) // leaves a keep-alive connection in fetch's pool
    const first = issuer.close()
    expect(issuer.close()).toBe(first)
    await first
    await expect(fetch(issuer.jwksUri)).rejects.toThrow(TypeError)
    const server = createServer()
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(issuer.port, '127.0.0.1', resolve)
    })
    await new Promise((resolve) => server.close(resolve))
  })

  it('can start again on the port it had', async () => {
    const issuer = await startIssuer()
    await issuer.close()
    const again = await startIssuer({ port: issuer.port })
    try {
      expect(again.issuer).toBe(issuer.issuer)
      expect((await fetch(again.discoveryUrl)).status).toBe(200)
    } finally {
      await again.close()
    }
  })
})
