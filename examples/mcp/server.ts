// An MCP server (Model Context Protocol, Streamable HTTP transport) on Express, protected by
// tokenward as an OAuth 2.0 protected resource, which is what MCP's authorization spec asks of
// it: the RFC 9728 metadata at /.well-known/oauth-protected-resource/mcp (clients find the
// authorization server there), a 401 whose challenge names that document (RFC 9728 §5.1), and
// tokens whose audience is this server's resource id (RFC 8707). Configuration:
//   ISSUER     the authorization server, exactly as in the tokens' iss (required)
//   RESOURCE   this server's resource id, its MCP endpoint URL, e.g. https://mcp.example.com/mcp
//              (required; also the audience the tokens must carry)
//   PORT (default 3000), HOST (default 127.0.0.1)
import type { IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js'
import { createValidator, type AuthResult } from '@tokenward/core'
import { tokenward } from '@tokenward/express'
import express from 'express'
import { z } from 'zod'

const issuer = process.env.ISSUER
const resource = process.env.RESOURCE
if (issuer === undefined || resource === undefined) {
  console.error('Set ISSUER and RESOURCE, e.g. RESOURCE=https://mcp.example.com/mcp')
  process.exit(1)
}

const validator = createValidator({
  issuer,
  audience: resource, // RFC 8707: a token minted for another resource is refused
  resource: { id: resource, metadata: { resource_name: 'tokenward MCP example' } },
})

/** What the SDK hands to tools as `extra.authInfo`. */
function authInfo(auth: AuthResult): AuthInfo {
  return {
    token: auth.token,
    clientId: auth.clientId ?? '',
    scopes: [...auth.scopes],
    ...(auth.expiresAt === undefined ? {} : { expiresAt: auth.expiresAt.getTime() / 1000 }),
    resource: new URL(resource!),
    extra: { subject: auth.subject },
  }
}

/** One MCP server per request: the transport runs stateless (no session id). */
function mcpServer(): McpServer {
  const server = new McpServer({ name: 'tokenward-example', version: '0.0.0' })
  server.registerTool(
    'whoami',
    {
      description: 'Greets the caller by the client id of its token',
      inputSchema: { greeting: z.string() },
    },
    ({ greeting }, extra) => ({
      content: [{ type: 'text', text: `${greeting}, ${extra.authInfo?.clientId ?? 'nobody'}` }],
    }),
  )
  return server
}

const app = express()
// Serves the metadata document and refuses requests without a valid token before any body is read.
app.use(tokenward(validator))
app.use(express.json())
app.post('/mcp', async (req, res) => {
  const server = mcpServer()
  const transport = new StreamableHTTPServerTransport({}) // no sessionIdGenerator: stateless
  res.on('close', () => {
    void transport.close()
    void server.close()
  })
  await server.connect(transport)
  // The transport passes `req.auth` to tools as `extra.authInfo`, in the SDK's shape.
  const request = req as unknown as IncomingMessage & { auth?: AuthInfo }
  request.auth = authInfo(req.auth)
  await transport.handleRequest(request, res, req.body)
})
// Stateless: no server-to-client stream, no session to end.
app.all('/mcp', (_req, res) => {
  res.status(405).set('allow', 'POST').end()
})

const server = app.listen(
  Number(process.env.PORT ?? 3000),
  process.env.HOST ?? '127.0.0.1',
  (error) => {
    if (error !== undefined) throw error
    const { address, port } = server.address() as AddressInfo
    console.log(`listening on http://${address}:${port}`)
  },
)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close()
    server.closeAllConnections()
    void validator.close()
  })
}
