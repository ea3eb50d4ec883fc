// The adapters' smoke test through real HTTP, shared by each adapter package's
// test/smoke.test.ts: each says how to start its framework with its adapter, this file what the
// app must answer. The validator has a static key set (no network); tokens are signed with jose.
import * as http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Validator } from '@tokenward/core'
import { claims, createKey, mint, validatorFor, type TestKey } from './tokens.js'

/** An app listening on 127.0.0.1. */
export interface SmokeApp {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  close(): Promise<void>
}

/**
 * Starts the framework on 127.0.0.1:0 with the adapter over `validator`, serving `GET /me` (any
 * valid token) and `GET /admin` (behind the adapter's `requireRoles('admin')`); both answer
 * `{ auth }`, the request's `AuthResult`.
 */
export type StartSmokeApp = (validator: Validator) => Promise<SmokeApp>

interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  body: Record<string, unknown>
}

/** GET with one `Authorization` line per value given (`fetch` would join two into one). */
function get(url: string, authorization?: string | readonly string[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { agent: false }, (response) => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => (text += chunk))
      response.on('end', () => {
        const body = JSON.parse(text) as Record<string, unknown>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body })
      })
      response.on('error', reject)
    })
    if (authorization !== undefined) request.setHeader('authorization', authorization)
    request.on('error', reject).end()
  })
}

/** The adapter's five smoke checks for `framework`, started by `start`. */
export function describeSmoke(framework: string, start: StartSmokeApp): void {
  describe(`${framework}: the adapter through real HTTP`, () => {
    let key: TestKey
    let validator: Validator
    let app: SmokeApp

    beforeAll(async () => {
      key = await createKey()
      validator = validatorFor(key, { roles: { claim: 'roles' } })
      app = await start(validator)
    })
    afterAll(async () => {
      await app.close()
      await validator.close()
    })

    /** A token valid now, with the role `reader`, signed with `signer`. */
    function token(signer: TestKey = key): Promise<string> {
      const now = Math.floor(Date.now() / 1000)
      return mint(signer, claims({ iat: now, exp: now + 300, roles: ['reader'] }))
    }

    it('a valid token: 200, with auth attached', async () => {
      const { status, body } = await get(`${app.url}/me`, `Bearer ${await token()}`)
      expect(status).toBe(200)
      expect(body.auth).toMatchObject({ subject: 'user-1', source: 'jwt', roles: { reader: [] } })
    })

    it('no token: 401 missing_token, challenge Bearer realm="api" only', async () => {
      const { status, headers, body } = await get(`${app.url}/me`)
      expect([status, body.code]).toEqual([401, 'missing_token'])
      expect(headers['www-authenticate']).toBe('Bearer realm="api"')
    })

    it('a token signed with another key: 401 invalid_signature, an invalid_token challenge', async () => {
      const forged = await token(await createKey(key.alg, key.kid))
      const { status, headers, body } = await get(`${app.url}/me`, `Bearer ${forged}`)
      expect([status, body.code]).toEqual([401, 'invalid_signature'])
      expect(headers['www-authenticate']).toMatch(
        /^Bearer realm="api", error="invalid_token", error_description="[^"]*"$/,
      )
    })

    it("a valid token without the role: 403 insufficient_role through requireRoles('admin')", async () => {
      const { status, body } = await get(`${app.url}/admin`, `Bearer ${await token()}`)
      expect([status, body.code]).toEqual([403, 'insufficient_role'])
    })

    it('two Authorization headers: 400 invalid_request', async () => {
      const bearer = `Bearer ${await token()}`
      const { status, body } = await get(`${app.url}/me`, [bearer, bearer])
      expect([status, body.code]).toEqual([400, 'invalid_request'])
    })
  })
}
