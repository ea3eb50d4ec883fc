// Discovery: the document of the configured issuer, found where OIDC Discovery §4.1 and RFC 8414
// §3.1 say, and trusted only when its issuer is the configured one exactly (OIDC Discovery §4.3,
// RFC 8414 §3.3).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createValidator, type TokenwardError } from '@tokenward/core'
import { startFaultServer, type FaultServer } from './support/fault-server.js'

let faults: FaultServer

beforeAll(async () => {
  faults = await startFaultServer()
  faults.setRoute('/jwks', { status: 200, body: { keys: [] } })
})
afterAll(async () => {
  await faults.close()
})

describe('where the discovery document is (OIDC Discovery §4.1, RFC 8414 §3.1)', () => {
  it('drops a terminating slash of the issuer before appending the well-known path', async () => {
    const issuer = `${faults.url}/tenant/`
    faults.setRoute('/tenant/.well-known/openid-configuration', {
      status: 200,
      body: { issuer, jwks_uri: `${faults.url}/jwks` },
    })
    await createValidator({ issuer, audience: 'api' }).warmUp()
    expect(faults.requestsTo('/tenant/.well-known/openid-configuration')).toHaveLength(1)
    expect(faults.requestsTo('/tenant//.well-known/openid-configuration')).toHaveLength(0)
  })

  it('falls back to the RFC 8414 well-known, inserted between host and path', async () => {
    const issuer = `${faults.url}/rfc8414`
    faults.setRoute('/.well-known/oauth-authorization-server/rfc8414', {
      status: 200,
      body: { issuer, jwks_uri: `${faults.url}/jwks` },
    })
    await createValidator({ issuer, audience: 'api' }).warmUp()
    expect(faults.requestsTo('/rfc8414/.well-known/openid-configuration')).toHaveLength(1)
    expect(faults.requestsTo('/.well-known/oauth-authorization-server/rfc8414')).toHaveLength(1)
  })

  it('refuses a document for another issuer: 503, logged as a misconfiguration', async () => {
    const issuer = `${faults.url}/mismatch`
    faults.setRoute('/mismatch/.well-known/openid-configuration', {
      status: 200,
      body: { issuer: `${issuer}/`, jwks_uri: `${faults.url}/jwks-mismatch` },
    })
    const logger = { warn: vi.fn(), error: vi.fn() }
    const error = await createValidator({ issuer, audience: 'api', logger })
      .warmUp()
      .then(
        () => undefined,
        (e: unknown) => e as TokenwardError,
      )
    expect(error?.code).toBe('upstream_unavailable')
    expect(error?.status).toBe(503)
    expect(logger.error).toHaveBeenCalledOnce()
    // The log names the one-character fix: the document's issuer differs only by its slash.
    expect(JSON.stringify(logger.error.mock.calls[0])).toContain(
      `differs from the configured \\"${issuer}\\" only by a trailing slash: set issuer to the metadata's, exactly`,
    )
    expect(faults.requestsTo('/jwks-mismatch')).toHaveLength(0)
  })
})
