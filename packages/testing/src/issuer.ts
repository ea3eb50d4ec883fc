/**
 * `startIssuer`: a local OAuth 2.0 / OpenID Connect issuer on 127.0.0.1 for tests, on
 * `node:http` and `jose` only. It serves discovery (OpenID Connect Discovery 1.0 §4 and RFC 8414
 * §3), the JWKS (RFC 7517 §5) and introspection (RFC 7662), and mints the tokens it answers for.
 */
import { randomBytes } from 'node:crypto'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'

import { authenticateClient, TokenStore } from './introspection.js'
import { KeyRing, SIGNING_ALGORITHMS } from './keys.js'
import {
  buildClaims,
  layer,
  opaqueToken,
  signToken,
  type JsonObject,
  type MintDefaults,
} from './mint.js'
import type {
  ClientCredentials,
  IssuerOptions,
  OutageKind,
  OutageMode,
  RequestCounts,
  SigningAlgorithm,
  TestIssuer,
} from './types.js'

type Endpoint = 'discovery' | 'jwks' | 'introspection' | 'other'

/** Introspection requests are a form with a token: anything larger is refused (413). */
const MAX_BODY_BYTES = 64 * 1024

const OUTAGE_KINDS: readonly OutageKind[] = ['discovery', 'jwks', 'introspection', 'all']
const OUTAGE_MODES: readonly OutageMode[] = ['status', 'reset']

/** The checked options: the token defaults (but the issuer, known once listening) and the rest. */
interface Settings extends Omit<MintDefaults, 'issuer'> {
  readonly issuerPath: string
  readonly algorithms: readonly SigningAlgorithm[]
  readonly outageMode: OutageMode
  readonly port: number
  readonly client: ClientCredentials
  readonly metadata: Readonly<JsonObject> | undefined
}

function fail(option: string, expected: string, got: unknown): never {
  throw new TypeError(`startIssuer: ${option} must be ${expected}; got ${JSON.stringify(got)}`)
}

const isString = (value: unknown): value is string => typeof value === 'string' && value !== ''

/** Checks every option before anything starts, naming the option in the message. */
function settingsOf(options: IssuerOptions): Settings {
  const issuerPath = options.issuerPath ?? ''
  if (issuerPath !== '' && !/^(\/[^/?#\s]+)+$/.test(issuerPath)) {
    fail('issuerPath', "a path like '/realms/test' (leading slash, no trailing slash)", issuerPath)
  }
  const algorithms =
    options.algorithm === undefined
      ? (['RS256'] as const)
      : typeof options.algorithm === 'string'
        ? [options.algorithm]
        : options.algorithm
  if (
    algorithms.length === 0 ||
    new Set(algorithms).size !== algorithms.length ||
    !algorithms.every((alg) => SIGNING_ALGORITHMS.includes(alg))
  ) {
    fail('algorithm', `one or more distinct of ${SIGNING_ALGORITHMS.join(', ')}`, options.algorithm)
  }
  const outageMode = options.outageMode ?? 'status'
  if (!OUTAGE_MODES.includes(outageMode)) fail('outageMode', "'status' or 'reset'", outageMode)
  const port = options.port ?? 0
  if (!Number.isInteger(port) || port < 0 || port > 65_535) fail('port', 'an integer 0-65535', port)
  const client = options.client ?? {
    clientId: 'test-resource-server',
    clientSecret: randomBytes(18).toString('base64url'),
  }
  if (!isString(client.clientId) || !isString(client.clientSecret)) {
    fail('client', '{ clientId, clientSecret } with non-empty strings', client)
  }
  const audience = options.audience ?? 'api'
  if (typeof audience !== 'string' && !audience.every(isString)) {
    fail('audience', 'a string or a list of strings', audience)
  }
  const subject = options.subject ?? 'test-user'
  if (!isString(subject)) fail('subject', 'a non-empty string', subject)
  const clientId = options.clientId ?? 'test-client'
  if (!isString(clientId)) fail('clientId', 'a non-empty string', clientId)
  const expiresInSeconds = options.expiresInSeconds ?? 300
  if (!Number.isFinite(expiresInSeconds)) {
    fail('expiresInSeconds', 'a finite number', expiresInSeconds)
  }
  const clock = options.clock ?? Date.now
  if (typeof clock !== 'function') fail('clock', 'a function returning ms since the epoch', clock)
  return {
    issuerPath,
    algorithms,
    outageMode,
    port,
    client,
    audience,
    subject,
    clientId,
    expiresInSeconds,
    clock,
    metadata: options.metadata,
  }
}

function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: http.OutgoingHttpHeaders = {},
): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  })
  res.end(text)
}

/** The request body, or undefined when it passed `MAX_BODY_BYTES`. */
async function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) return undefined
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * Starts a local issuer on 127.0.0.1 (a free port unless `port` is given). Resolves once it
 * listens; rejects on a bad option (a `TypeError` naming it) or when the port is taken.
 *
 * @example
 * const issuer = await startIssuer()
 * const token = await issuer.mint({ aud: 'api', scope: 'read' })
 * // ... call your API with `Authorization: Bearer ${token}`
 * await issuer.close()
 */
export async function startIssuer(options: IssuerOptions = {}): Promise<TestIssuer> {
  const settings = settingsOf(options)
  const keys = await KeyRing.create(settings.algorithms)
  const tokens = new TokenStore()
  const counts: Record<keyof RequestCounts, number> = {
    discovery: 0,
    jwks: 0,
    introspection: 0,
    other: 0,
    total: 0,
  }
  let outage: { kinds: ReadonlySet<OutageKind>; mode: OutageMode } | undefined

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' })
      else res.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(settings.port, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const origin = `http://127.0.0.1:${port}`
  const issuer = `${origin}${settings.issuerPath}`
  const paths: Record<string, Endpoint> = {
    [`${settings.issuerPath}/.well-known/openid-configuration`]: 'discovery',
    // RFC 8414 §3.1: the well-known suffix goes between the host and the issuer's path.
    [`/.well-known/oauth-authorization-server${settings.issuerPath}`]: 'discovery',
    [`${settings.issuerPath}/jwks`]: 'jwks',
    [`${settings.issuerPath}/introspect`]: 'introspection',
  }
  const jwksUri = `${issuer}/jwks`
  const introspectionEndpoint = `${issuer}/introspect`
  const defaults: MintDefaults = { ...settings, issuer }

  function metadata(): JsonObject {
    return layer(
      {
        issuer,
        jwks_uri: jwksUri,
        introspection_endpoint: introspectionEndpoint,
        introspection_endpoint_auth_methods_supported: [
          'client_secret_basic',
          'client_secret_post',
        ],
        id_token_signing_alg_values_supported: keys.algorithms,
        subject_types_supported: ['public'],
      },
      settings.metadata,
    )
  }

  async function introspect(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      sendJson(res, 405, { error: 'invalid_request' }, { allow: 'POST' })
      return
    }
    const body = await readBody(req)
    if (body === undefined) {
      sendJson(res, 413, { error: 'invalid_request' }, { connection: 'close' })
      return
    }
    const form = new URLSearchParams(body)
    const check = authenticateClient(settings.client, req.headers.authorization, form)
    if (!check.ok) {
      const headers = check.challenge === undefined ? {} : { 'www-authenticate': check.challenge }
      sendJson(
        res,
        check.status,
        { error: check.error, error_description: check.description },
        headers,
      )
      return
    }
    const token = form.get('token')
    if (token === null || token === '') {
      sendJson(res, 400, { error: 'invalid_request', error_description: 'token is missing' })
      return
    }
    // RFC 7662 §2.1: token_type_hint may be ignored; every minted token is looked up.
    const answer = tokens.answer(token, Math.floor(settings.clock() / 1000))
    sendJson(res, 200, answer, { 'cache-control': 'no-store' })
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', origin).pathname
    const endpoint = paths[path] ?? 'other'
    counts[endpoint] += 1
    counts.total += 1
    if (
      outage !== undefined &&
      (outage.kinds.has('all') || outage.kinds.has(endpoint as OutageKind))
    ) {
      if (outage.mode === 'reset') req.socket.destroy()
      else
        sendJson(res, 503, {
          error: 'temporarily_unavailable',
          error_description: 'outage set by setOutage',
        })
      return
    }
    if (endpoint === 'introspection') {
      await introspect(req, res)
      return
    }
    if (endpoint === 'other') {
      sendJson(res, 404, { error: 'not_found' })
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: 'invalid_request' }, { allow: 'GET, HEAD' })
      return
    }
    sendJson(res, 200, endpoint === 'jwks' ? keys.jwks() : metadata())
  }

  let closing: Promise<void> | undefined

  return {
    issuer,
    origin,
    port,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    jwksUri,
    introspectionEndpoint,
    client: { clientId: settings.client.clientId, clientSecret: settings.client.clientSecret },
    get kids() {
      return keys.kids
    },
    get requests() {
      return { ...counts }
    },
    resetRequests() {
      for (const key of Object.keys(counts) as (keyof RequestCounts)[]) counts[key] = 0
    },
    async mint(claims, mintOptions = {}) {
      const built = buildClaims(defaults, claims, mintOptions, 'mint')
      const token = await signToken(keys, built.claims, mintOptions)
      tokens.add(
        token,
        layer({ token_type: 'Bearer' }, mintOptions.shape?.introspection, built.claims),
      )
      return token
    },
    mintOpaque(claims, mintOptions = {}) {
      // A promise like mint's: a bad option rejects rather than throws.
      return new Promise<string>((resolve) => {
        const built = buildClaims(defaults, claims, mintOptions, 'mintOpaque')
        const token = opaqueToken()
        // The caller's claims win over the shape's introspection members too.
        const answer = layer(
          { token_type: 'Bearer' },
          built.claims,
          mintOptions.shape?.introspection,
          claims,
        )
        tokens.add(token, answer)
        resolve(token)
      })
    },
    revoke(token) {
      return tokens.revoke(token)
    },
    async rotateKeys(rotateOptions = {}) {
      await keys.rotate(rotateOptions.dropPrevious === true)
      return { kid: keys.default.kid, kids: keys.kids }
    },
    setOutage(kind, mode) {
      if (kind === null) {
        outage = undefined
        return
      }
      const kinds = typeof kind === 'string' ? [kind] : kind
      if (!kinds.every((entry) => OUTAGE_KINDS.includes(entry))) {
        throw new TypeError(
          `setOutage: kind must be one of ${OUTAGE_KINDS.join(', ')} or null; got ${JSON.stringify(kind)}`,
        )
      }
      if (mode !== undefined && !OUTAGE_MODES.includes(mode)) {
        throw new TypeError(
          `setOutage: mode must be 'status' or 'reset'; got ${JSON.stringify(mode)}`,
        )
      }
      outage = { kinds: new Set(kinds), mode: mode ?? settings.outageMode }
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => {
          resolve()
        })
        server.closeAllConnections()
      })
      return closing
    },
  }
}
