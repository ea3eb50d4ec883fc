// The MCP example started as its users would (`tsx server.ts`), against the harness's OpenID
// Provider, and used by a real MCP client from the SDK (Client + StreamableHTTPClientTransport)
// with a token whose audience is the server's resource id (RFC 8707).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { startIssuer, type TestIssuer } from '../../test/support/issuer.js'
import { built, freePort, killAll, runExample } from '../support.js'

let issuer: TestIssuer
let url: string
let resource: string

beforeAll(async () => {
  if (!built) return
  issuer = await startIssuer()
  const port = await freePort()
  url = `http://127.0.0.1:${port}`
  resource = `${url}/mcp`
  const example = runExample('mcp', 'server.ts', [], {
    ISSUER: issuer.issuer,
    RESOURCE: resource,
    PORT: String(port),
  })
  await example.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/)
})
afterAll(async () => {
  killAll()
  if (built) await issuer.close()
})

async function connect(headers: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'tokenward-test', version: '0.0.0' })
  await client.connect(
    new StreamableHTTPClientTransport(new URL(resource), { requestInit: { headers } }),
  )
  return client
}

describe.skipIf(!built)('examples/mcp', () => {
  it('a real MCP client with a token for the resource lists and calls the tool', async () => {
    const { token } = await issuer.issueToken({ resource })
    const client = await connect({ authorization: `Bearer ${token}` })
    try {
      const { tools } = await client.listTools()
      expect(tools.map((tool) => tool.name)).toEqual(['whoami'])
      const result = await client.callTool({ name: 'whoami', arguments: { greeting: 'hello' } })
      expect(result.content).toEqual([
        { type: 'text', text: `hello, ${issuer.tokenClient.clientId}` },
      ])
    } finally {
      await client.close()
    }
  })

  it('serves the RFC 9728 document naming the issuer', async () => {
    const response = await fetch(`${url}/.well-known/oauth-protected-resource/mcp`)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({
      resource,
      authorization_servers: [issuer.issuer],
      bearer_methods_supported: ['header'],
      dpop_signing_alg_values_supported: [
        'RS256',
        'RS384',
        'RS512',
        'PS256',
        'PS384',
        'PS512',
        'ES256',
        'ES384',
        'ES512',
        'EdDSA',
      ],
      dpop_bound_access_tokens_required: false,
      resource_name: 'tokenward MCP example',
    })
  })

  it('without a token: the client fails with 401, whose challenge names the metadata', async () => {
    // The SDK's StreamableHTTPError: the HTTP status in `code`, the body in the message.
    await expect(connect({})).rejects.toMatchObject({
      code: 401,
      message: expect.stringContaining('"code":"missing_token"') as unknown,
    })
    const response = await fetch(resource, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    })
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer realm="api", resource_metadata="${url}/.well-known/oauth-protected-resource/mcp"`,
    )
  })

  it('refuses a token minted for another resource (RFC 8707 audience)', async () => {
    const { token } = await issuer.issueToken()
    await expect(connect({ authorization: `Bearer ${token}` })).rejects.toMatchObject({
      code: 401,
      message: expect.stringContaining('"code":"invalid_audience"') as unknown,
    })
  })
})
