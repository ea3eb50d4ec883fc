// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- ambient module types for oidc-provider
/// <reference path="./oidc-provider.d.ts" />
// A real OpenID Provider (`oidc-provider` from npm) started inside the test process on
// 127.0.0.1, for integration tests of tokenward. Tokens are minted through the provider's real
// token endpoint (client_credentials grant); opaque tokens are introspected/revoked at its real
// introspection/revocation endpoints. Sender-constrained tokens come from the same endpoint: a
// token request with a DPoP proof gets a DPoP-bound token (RFC 9449 §5, `cnf.jkt`), one with a
// client certificate (passed in a header, as a TLS-terminating proxy would) a certificate-bound
// token (RFC 8705 §3, `cnf["x5t#S256"]`).
import * as crypto from 'node:crypto'
import type * as http from 'node:http'
import { promisify } from 'node:util'

import { exportJWK, generateKeyPair } from 'jose'
import type { JWK } from 'jose'
import type { Configuration, Provider } from 'oidc-provider'

import { listen } from '../../packages/core/test/support/listen.js'
import { certificatePem } from '../../packages/core/test/support/x509.js'

export type SigningAlgorithm =
  'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA'

export type TokenFormat = 'jwt' | 'opaque'

export interface IssuerOptions {
  /** One signing key per entry, in this order (the first key of an algorithm signs). Default `['RS256']`. */
  algorithms?: readonly SigningAlgorithm[]
  /** Access token lifetime (`ttl.ClientCredentials`). Default 300. */
  accessTokenTtlSeconds?: number
  /** Resource indicator used when `issueToken` gets none (and the provider's `defaultResource`). Default `https://api.tokenward.test`. */
  resource?: string
  /** Format for token requests that do not go through `issueToken` (raw requests). Default `'jwt'`. */
  defaultFormat?: TokenFormat
  /** PEM encoding of the private_key_jwt client's key file. ZITADEL key files hold PKCS#1 (`BEGIN RSA PRIVATE KEY`). Default `'pkcs1'`. */
  keyFileFormat?: 'pkcs1' | 'pkcs8'
  /** Also serve the discovery document at `/.well-known/oauth-authorization-server` (RFC 8414). Default true. */
  rfc8414Metadata?: boolean
  /** JWS algorithms the provider accepts in DPoP proofs. Default: every asymmetric one (and `Ed25519`). */
  dpopAlgorithms?: readonly string[]
}

/** Makes the DPoP proof of a token request (see packages/core/test/support/dpop.ts). */
export interface DpopProver {
  proof(request: { method: string; url: string }): Promise<string>
}

export interface IssueTokenOptions {
  /** Resource indicator (RFC 8707). Default: the issuer's `resource`. Becomes `aud` unless `audience` is given. */
  resource?: string
  /** Space-separated scopes; every requested scope is granted. */
  scope?: string
  /** Default `'jwt'`. */
  format?: TokenFormat
  /**
   * JWT: merged into the payload last (may override `iss`, `exp`, `client_id`, ...; `undefined` deletes a claim).
   * Opaque: stored as extra token claims, shown in the introspection answer, except that the provider
   * overrides `active client_id exp iat iss jti aud scope token_type cnf` there.
   */
  claims?: Record<string, unknown>
  /** JWT only: merged into the protected header (e.g. `{ typ: 'JWT' }`, or a foreign `kid`). */
  header?: Record<string, unknown>
  /** `aud`. A string goes through the resource server's `audience`; an array through the jwt customizer (JWT) or the harness's storage adapter (opaque). */
  audience?: string | readonly string[]
  /** JWT only: algorithm of the signing key to use. Default: the first current key's algorithm. */
  alg?: SigningAlgorithm
  /** Lifetime of this token (resource server `accessTokenTTL`). Default `accessTokenTtlSeconds`. */
  expiresInSeconds?: number
  /** Send a DPoP proof made by this client with the token request: the token is bound to its key (`cnf.jkt`, `token_type` DPoP). */
  dpop?: DpopProver
  /**
   * Present this client certificate (PEM, or DER bytes) with the token request: the token is bound
   * to it (`cnf["x5t#S256"]`). The request is made as `mtlsClient`, whose tokens are always bound.
   */
  certificate?: string | Uint8Array
  /** `acr` claim (RFC 9470): in the JWT, or in the introspection answer of an opaque token. */
  acr?: string
  /** `auth_time` claim, Unix seconds (RFC 9470): in the JWT, or in the introspection answer. */
  authTime?: number
}

export interface IssueRefreshTokenOptions {
  /** Default `'openid offline_access'`. */
  scope?: string
  /** The user (`sub` of the introspection answer). Default `'user-1'`. */
  accountId?: string
  /** Default 3600. */
  expiresInSeconds?: number
}

export interface IssuedToken {
  token: string
  expiresIn: number
  /** `Bearer`, or `DPoP` for a DPoP-bound token. */
  tokenType: string
  scope?: string
}

export interface ClientSecretCredentials {
  clientId: string
  clientSecret: string
}

/** ZITADEL-style application key file (as downloaded from ZITADEL for an API application). */
export interface ZitadelKeyFile {
  type: 'application'
  keyId: string
  /** PEM private key (PKCS#1 by default, see `IssuerOptions.keyFileFormat`). */
  key: string
  clientId: string
  appId: string
}

export interface IntrospectionClients {
  /** token_endpoint_auth_method `client_secret_basic`. Id and secret contain characters that must be form-urlencoded (RFC 6749 §2.3.1). */
  basic: ClientSecretCredentials
  /** token_endpoint_auth_method `client_secret_post`. */
  post: ClientSecretCredentials
  /** token_endpoint_auth_method `private_key_jwt` (RS256 assertion, `kid` = keyFile.keyId). */
  privateKeyJwt: { clientId: string; keyFile: ZitadelKeyFile }
}

export interface RequestCounters {
  /** `/.well-known/openid-configuration` and `/.well-known/oauth-authorization-server` */
  discovery: number
  jwks: number
  introspection: number
  token: number
  revocation: number
  /** every request, including those answered while down */
  total: number
}

export type DownMode = 'status' | 'reset'

export interface TestIssuer {
  /** `http://127.0.0.1:<port>`, no trailing slash; equals the discovery document's `issuer`. */
  readonly issuer: string
  readonly port: number
  readonly discoveryUrl: string
  readonly jwksUri: string
  readonly tokenEndpoint: string
  readonly introspectionEndpoint: string
  readonly revocationEndpoint: string
  /** Default resource indicator (default `aud` of tokens). */
  readonly resource: string
  /** The confidential client_credentials client `issueToken` and `revoke` use (client_secret_basic). */
  readonly tokenClient: ClientSecretCredentials
  /** The client `issueToken` uses with a `certificate`: `tls_client_certificate_bound_access_tokens`. */
  readonly mtlsClient: ClientSecretCredentials
  /** The request header the provider reads the client certificate from (URL-encoded PEM, as nginx's `$ssl_client_escaped_cert`). */
  readonly clientCertificateHeader: string
  readonly introspectionClients: IntrospectionClients
  /** Live counters of received requests (counted even while down). */
  readonly requests: Readonly<RequestCounters>
  resetRequests(): void
  /** `kid`s of the current signing keys, in JWKS order. */
  readonly kids: readonly string[]
  /** Errors the provider reported as `server_error` (500s), for debugging. */
  readonly serverErrors: readonly unknown[]
  issueToken(options?: IssueTokenOptions): Promise<IssuedToken>
  /**
   * A refresh token of `tokenClient`, stored as the provider's own `RefreshToken` (no
   * authorization flow): introspectable at the real endpoint (`active`, no `token_type`).
   */
  issueRefreshToken(
    options?: IssueRefreshTokenOptions,
  ): Promise<{ token: string; expiresIn: number }>
  /** Revokes an opaque token at the real revocation endpoint (as the token's client). */
  revoke(token: string): Promise<void>
  /** Oracle: introspects at the real endpoint as the `basic` RS client and returns the JSON answer. */
  introspect(token: string): Promise<Record<string, unknown>>
  /**
   * Replaces the signing keys (new `kid`s) and swaps in a new Provider instance behind the same
   * server/port. Clients and stored (opaque) tokens survive. With `retainPrevious`, the previous keys
   * stay published after the new ones (new keys sign).
   */
  rotateKeys(
    algorithms?: readonly SigningAlgorithm[],
    options?: { retainPrevious?: boolean },
  ): Promise<{ kids: string[] }>
  /** While down, every request gets 503 (`'status'`, default) or has its socket destroyed (`'reset'`). */
  setDown(down: boolean, mode?: DownMode): void
  close(): Promise<void>
}

// ---------------------------------------------------------------------------------------------
// oidc-provider prints notices/warnings through console (unsupported runtime on Node 20, dev
// defaults, ...). Drop exactly those lines unless TOKENWARD_TEST_OIDC_LOGS=1.

// eslint-disable-next-line no-control-regex -- an ANSI colour prefix is exactly what is matched
const OIDC_LOG = /^(?:\x1b\[[0-9;]*m)?oidc-provider (?:NOTICE|WARNING):/
let consoleFiltered = false
function silenceProviderConsole(): void {
  if (consoleFiltered || process.env.TOKENWARD_TEST_OIDC_LOGS === '1') return
  consoleFiltered = true
  for (const method of ['warn', 'info'] as const) {
    const original = console[method].bind(console)
    console[method] = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && OIDC_LOG.test(args[0])) return
      original(...args)
    }
  }
}

let providerModule: Promise<typeof Provider> | undefined
function loadProvider(): Promise<typeof Provider> {
  silenceProviderConsole()
  providerModule ??= import('oidc-provider').then((m) => m.default)
  return providerModule
}

// ---------------------------------------------------------------------------------------------
// Shapes of the provider hooks' arguments (only what is used here).

interface HookContext {
  get(field: string): string
  oidc: { params?: Record<string, unknown> }
}
interface HookClient {
  clientId: string
  clientAuthMethod: string
}
interface HookToken {
  kind: string
  format?: string
  clientId?: string
  resourceServer?: { accessTokenTTL?: number }
}
/** The provider's models `issueRefreshToken` uses (oidc-provider.d.ts leaves them out). */
interface ProviderModels {
  Client: { find(id: string): Promise<object | undefined> }
  RefreshToken: new (fields: Record<string, unknown>) => { save(): Promise<string> }
}
interface StructuredJwt {
  header: Record<string, unknown> | undefined
  payload: Record<string, unknown>
}
interface ResourceServerInfo {
  scope: string
  audience?: string
  accessTokenTTL?: number
  accessTokenFormat: TokenFormat
  jwt: { sign: { alg: string } }
}

interface Shape {
  format: TokenFormat
  alg?: SigningAlgorithm
  audience?: string | readonly string[]
  claims?: Record<string, unknown>
  header?: Record<string, unknown>
  ttl?: number
}

/** Request header carrying the id of a registered Shape on token requests made by issueToken. */
const SHAPE_HEADER = 'x-tokenward-test-shape'
/** Key under which an audience array travels from extraTokenClaims to the storage adapter. */
const AUD_MARKER = 'urn:tokenward:test:aud'
/** Request header carrying the client certificate of a token request (URL-encoded PEM). */
const CLIENT_CERTIFICATE_HEADER = 'x-tokenward-test-client-certificate'
/** Every asymmetric JWS algorithm oidc-provider knows. */
const DPOP_ALGORITHMS = 'ES256 ES384 ES512 Ed25519 EdDSA PS256 PS384 PS512 RS256 RS384 RS512'.split(
  ' ',
)

// ---------------------------------------------------------------------------------------------
// Storage adapter: one store per issuer, shared by the Provider instances of a key rotation so
// opaque tokens and client-assertion jti replay records survive `rotateKeys`.

interface Stored {
  payload: Record<string, unknown>
  expiresAt: number | undefined
}

function createAdapterFactory() {
  const store = new Map<string, Stored>()
  const read = (key: string): Record<string, unknown> | undefined => {
    const entry = store.get(key)
    if (!entry) return undefined
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      store.delete(key)
      return undefined
    }
    return structuredClone(entry.payload)
  }
  return (model: string) => ({
    async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number) {
      const extra = payload.extra as Record<string, unknown> | undefined
      if (model === 'ClientCredentials' && extra && AUD_MARKER in extra) {
        // oidc-provider only produces a single-string aud; tests need multi-audience tokens.
        payload.aud = extra[AUD_MARKER]
        delete extra[AUD_MARKER]
      }
      store.set(`${model}:${id}`, {
        payload: structuredClone(payload),
        expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined,
      })
      if (model === 'Session' && typeof payload.uid === 'string') {
        store.set(`sessionUid:${payload.uid}`, { payload: { id }, expiresAt: undefined })
      }
      if (typeof payload.userCode === 'string') {
        store.set(`userCode:${payload.userCode}`, { payload: { id }, expiresAt: undefined })
      }
    },
    async find(id: string) {
      return read(`${model}:${id}`)
    },
    async findByUid(uid: string) {
      const ref = read(`sessionUid:${uid}`)
      return typeof ref?.id === 'string' ? read(`${model}:${ref.id}`) : undefined
    },
    async findByUserCode(userCode: string) {
      const ref = read(`userCode:${userCode}`)
      return typeof ref?.id === 'string' ? read(`${model}:${ref.id}`) : undefined
    },
    async consume(id: string) {
      const entry = store.get(`${model}:${id}`)
      if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000)
    },
    async destroy(id: string) {
      store.delete(`${model}:${id}`)
    },
    async revokeByGrantId(grantId: string) {
      for (const [key, entry] of store) {
        if (entry.payload.grantId === grantId) store.delete(key)
      }
    },
  })
}

// ---------------------------------------------------------------------------------------------

const generateRsaKeyPair = promisify(crypto.generateKeyPair)

function randomDigits(length: number): string {
  let out = String(crypto.randomInt(1, 10))
  while (out.length < length) out += String(crypto.randomInt(0, 10))
  return out
}

async function generateSigningKeys(algorithms: readonly SigningAlgorithm[]): Promise<JWK[]> {
  if (algorithms.length === 0) throw new Error('at least one signing algorithm is required')
  return Promise.all(
    algorithms.map(async (alg) => {
      const { privateKey } = await generateKeyPair(alg, { extractable: true })
      const jwk = await exportJWK(privateKey)
      const kid = `${alg.toLowerCase()}-${crypto.randomBytes(9).toString('base64url')}`
      return { ...jwk, kid, use: 'sig', alg }
    }),
  )
}

function basicAuthorization(clientId: string, clientSecret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+')
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`
}

export async function startIssuer(options: IssuerOptions = {}): Promise<TestIssuer> {
  const ProviderClass = await loadProvider()
  const accessTokenTtl = options.accessTokenTtlSeconds ?? 300
  const defaultResource = options.resource ?? 'https://api.tokenward.test'
  const defaultFormat = options.defaultFormat ?? 'jwt'
  const rfc8414 = options.rfc8414Metadata ?? true

  const tokenClient: ClientSecretCredentials = {
    clientId: 'api-client',
    clientSecret: 'api-client-secret',
  }
  const mtlsClient: ClientSecretCredentials = {
    clientId: 'api-client-mtls',
    clientSecret: 'api-client-mtls-secret',
  }
  const basic: ClientSecretCredentials = {
    clientId: 'rs-basic@tokenward',
    clientSecret: 'basic s3cret:+/&=%',
  }
  const post: ClientSecretCredentials = {
    clientId: 'rs-post@tokenward',
    clientSecret: 'post s3cret:+/&=%',
  }

  const rsa = await generateRsaKeyPair('rsa', { modulusLength: 2048 })
  const keyFile: ZitadelKeyFile = {
    type: 'application',
    keyId: randomDigits(18),
    key: rsa.privateKey
      .export({ type: options.keyFileFormat ?? 'pkcs1', format: 'pem' })
      .toString(),
    clientId: 'rs-jwt@tokenward',
    appId: randomDigits(18),
  }
  const clientPublicJwk = {
    ...rsa.publicKey.export({ format: 'jwk' }),
    kid: keyFile.keyId,
    use: 'sig',
    alg: 'RS256',
  }

  const noRedirects = { grant_types: [], response_types: [], redirect_uris: [] }
  const clients = () => [
    {
      client_id: tokenClient.clientId,
      client_secret: tokenClient.clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: mtlsClient.clientId,
      client_secret: mtlsClient.clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      tls_client_certificate_bound_access_tokens: true,
    },
    {
      ...noRedirects,
      client_id: basic.clientId,
      client_secret: basic.clientSecret,
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      ...noRedirects,
      client_id: post.clientId,
      client_secret: post.clientSecret,
      token_endpoint_auth_method: 'client_secret_post',
    },
    {
      ...noRedirects,
      client_id: keyFile.clientId,
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [clientPublicJwk] },
    },
  ]

  const shapes = new Map<string, Shape>()
  const shapeOf = (ctx: HookContext): Shape | undefined => {
    const id = ctx.get(SHAPE_HEADER)
    return id ? shapes.get(id) : undefined
  }
  const serverErrors: unknown[] = []
  const adapter = createAdapterFactory()
  const cookieKeys = [crypto.randomBytes(32).toString('base64url')]

  function configuration(keys: readonly JWK[]): Configuration {
    const firstAlg = keys[0]?.alg ?? 'RS256'
    return {
      adapter,
      clients: clients(),
      jwks: { keys: structuredClone(keys) },
      cookies: { keys: cookieKeys },
      clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
      clientDefaults: { id_token_signed_response_alg: firstAlg },
      clientBasedCORS: () => false,
      enabledJWA: { dPoPSigningAlgValues: [...(options.dpopAlgorithms ?? DPOP_ALGORITHMS)] },
      // oidc-provider only advertises token_endpoint_auth_methods_supported by itself.
      discovery: {
        introspection_endpoint_auth_methods_supported: [
          'client_secret_basic',
          'client_secret_post',
          'private_key_jwt',
        ],
        revocation_endpoint_auth_methods_supported: [
          'client_secret_basic',
          'client_secret_post',
          'private_key_jwt',
        ],
      },
      ttl: {
        ClientCredentials: (_ctx: HookContext, token: HookToken) =>
          token.resourceServer?.accessTokenTTL ?? accessTokenTtl,
      },
      features: {
        devInteractions: { enabled: false },
        userinfo: { enabled: false },
        clientCredentials: { enabled: true },
        // RFC 9449: a token request with a DPoP proof gets a DPoP-bound token (on by default in
        // oidc-provider 9; said here so that it stays on).
        dPoP: { enabled: true },
        // RFC 8705 §3: certificate-bound tokens for clients registered with
        // tls_client_certificate_bound_access_tokens. The certificate comes from a header, as
        // behind a TLS-terminating proxy; the test issuer itself speaks plain HTTP.
        mTLS: {
          enabled: true,
          certificateBoundAccessTokens: true,
          getCertificate: (ctx: HookContext) => {
            const value = ctx.get(CLIENT_CERTIFICATE_HEADER)
            return value ? decodeURIComponent(value) : undefined
          },
        },
        introspection: {
          enabled: true,
          // Any authenticated confidential client (the RS clients) may introspect any token.
          allowedPolicy: async (_ctx: HookContext, client: HookClient) =>
            client.clientAuthMethod !== 'none',
        },
        revocation: {
          enabled: true,
          allowedPolicy: async (_ctx: HookContext, client: HookClient, token: HookToken) =>
            client.clientAuthMethod !== 'none' || token.clientId === client.clientId,
        },
        resourceIndicators: {
          enabled: true,
          defaultResource: async (_ctx: HookContext, _client: HookClient, oneOf?: string[]) =>
            oneOf ?? defaultResource,
          useGrantedResource: async () => true,
          getResourceServerInfo: async (ctx: HookContext): Promise<ResourceServerInfo> => {
            const shape = shapeOf(ctx)
            const scope = ctx.oidc.params?.scope
            const info: ResourceServerInfo = {
              // grant whatever the test asked for
              scope: typeof scope === 'string' ? [...new Set(scope.split(' '))].join(' ') : '',
              accessTokenFormat: shape?.format ?? defaultFormat,
              jwt: { sign: { alg: shape?.alg ?? firstAlg } },
            }
            if (typeof shape?.audience === 'string') info.audience = shape.audience
            if (shape?.ttl !== undefined) info.accessTokenTTL = shape.ttl
            return info
          },
        },
      },
      // Opaque tokens: claims (and an audience array, via AUD_MARKER) become token "extra" claims.
      extraTokenClaims: async (ctx: HookContext, token: HookToken) => {
        if (token.format === 'jwt') return undefined // the jwt customizer handles JWTs
        const shape = shapeOf(ctx)
        if (!shape) return undefined
        const extra: Record<string, unknown> = {}
        for (const [name, value] of Object.entries(shape.claims ?? {})) {
          if (value !== undefined) extra[name] = value
        }
        if (Array.isArray(shape.audience)) extra[AUD_MARKER] = [...shape.audience]
        return Object.keys(extra).length > 0 ? extra : undefined
      },
      formats: {
        customizers: {
          jwt: async (ctx: HookContext, _token: HookToken, jwt: StructuredJwt) => {
            const shape = shapeOf(ctx)
            if (!shape) return
            if (shape.audience !== undefined) {
              jwt.payload.aud =
                typeof shape.audience === 'string' ? shape.audience : [...shape.audience]
            }
            if (shape.header) jwt.header = { ...jwt.header, ...shape.header }
            for (const [name, value] of Object.entries(shape.claims ?? {})) {
              if (value === undefined) delete jwt.payload[name]
              else jwt.payload[name] = value
            }
          },
        },
      },
    }
  }

  let down: DownMode | undefined
  const requests: RequestCounters = {
    discovery: 0,
    jwks: 0,
    introspection: 0,
    token: 0,
    revocation: 0,
    total: 0,
  }
  let current: http.RequestListener = (_req, res) => {
    res.writeHead(503).end()
  }

  const listening = await listen((req, res) => {
    const url = req.url ?? '/'
    const queryAt = url.indexOf('?')
    const path = queryAt === -1 ? url : url.slice(0, queryAt)
    requests.total += 1
    switch (path) {
      case '/.well-known/openid-configuration':
      case '/.well-known/oauth-authorization-server':
        requests.discovery += 1
        break
      case '/jwks':
        requests.jwks += 1
        break
      case '/token/introspection':
        requests.introspection += 1
        break
      case '/token':
        requests.token += 1
        break
      case '/token/revocation':
        requests.revocation += 1
        break
    }
    if (down === 'reset') {
      req.socket.destroy()
      return
    }
    if (down === 'status') {
      res.writeHead(503, {
        'content-type': 'application/json',
        'retry-after': '1',
        connection: 'close',
      })
      res.end(
        JSON.stringify({ error: 'temporarily_unavailable', error_description: 'issuer is down' }),
      )
      return
    }
    if (rfc8414 && path === '/.well-known/oauth-authorization-server') {
      req.url = `/.well-known/openid-configuration${queryAt === -1 ? '' : url.slice(queryAt)}`
    }
    current(req, res)
  })
  const issuer = listening.url

  let keys = await generateSigningKeys(options.algorithms ?? ['RS256'])
  let provider!: Provider
  function install(newKeys: JWK[]): void {
    provider = new ProviderClass(issuer, configuration(newKeys))
    provider.silent = true
    provider.on('server_error', (_ctx: unknown, error: unknown) => {
      serverErrors.push(error)
    })
    const handle = provider.callback()
    current = (req, res) => {
      void handle(req, res)
    }
    keys = newKeys
  }
  install(keys)

  const form = (fields: Record<string, string>) => new URLSearchParams(fields)
  const endpoints = {
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    jwksUri: `${issuer}/jwks`,
    tokenEndpoint: `${issuer}/token`,
    introspectionEndpoint: `${issuer}/token/introspection`,
    revocationEndpoint: `${issuer}/token/revocation`,
  }
  const describeErrors = () =>
    serverErrors.length > 0
      ? ` (provider server errors: ${serverErrors.map(String).join('; ')})`
      : ''

  const testIssuer: TestIssuer = {
    issuer,
    port: listening.port,
    ...endpoints,
    resource: defaultResource,
    tokenClient,
    mtlsClient,
    clientCertificateHeader: CLIENT_CERTIFICATE_HEADER,
    introspectionClients: { basic, post, privateKeyJwt: { clientId: keyFile.clientId, keyFile } },
    requests,
    resetRequests() {
      for (const name of Object.keys(requests) as (keyof RequestCounters)[]) requests[name] = 0
    },
    get kids() {
      return keys.map((key) => key.kid ?? '')
    },
    serverErrors,

    async issueToken(opts = {}) {
      const format = opts.format ?? 'jwt'
      if (opts.alg !== undefined && !keys.some((key) => key.alg === opts.alg)) {
        throw new Error(
          `no ${opts.alg} signing key; current keys: ${keys.map((k) => k.alg).join(', ')}`,
        )
      }
      const shape: Shape = { format }
      if (opts.alg !== undefined) shape.alg = opts.alg
      if (opts.audience !== undefined) shape.audience = opts.audience
      const stepUp: Record<string, unknown> = {}
      if (opts.acr !== undefined) stepUp.acr = opts.acr
      if (opts.authTime !== undefined) stepUp.auth_time = opts.authTime
      if (opts.claims !== undefined || Object.keys(stepUp).length > 0) {
        shape.claims = { ...stepUp, ...opts.claims }
      }
      if (opts.header !== undefined) shape.header = opts.header
      if (opts.expiresInSeconds !== undefined) shape.ttl = opts.expiresInSeconds
      const id = crypto.randomUUID()
      shapes.set(id, shape)
      try {
        const body = form({
          grant_type: 'client_credentials',
          resource: opts.resource ?? defaultResource,
        })
        if (opts.scope !== undefined) body.set('scope', opts.scope)
        const client = opts.certificate === undefined ? tokenClient : mtlsClient
        const headers: Record<string, string> = {
          authorization: basicAuthorization(client.clientId, client.clientSecret),
          'content-type': 'application/x-www-form-urlencoded',
          [SHAPE_HEADER]: id,
        }
        if (opts.dpop !== undefined) {
          headers.dpop = await opts.dpop.proof({ method: 'POST', url: endpoints.tokenEndpoint })
        }
        if (opts.certificate !== undefined) {
          headers[CLIENT_CERTIFICATE_HEADER] = encodeURIComponent(
            typeof opts.certificate === 'string'
              ? opts.certificate
              : certificatePem(opts.certificate),
          )
        }
        const response = await fetch(endpoints.tokenEndpoint, { method: 'POST', headers, body })
        const text = await response.text()
        if (!response.ok) {
          throw new Error(`token endpoint answered ${response.status}: ${text}${describeErrors()}`)
        }
        const json = JSON.parse(text) as {
          access_token: string
          expires_in: number
          token_type: string
          scope?: string
        }
        const issued: IssuedToken = {
          token: json.access_token,
          expiresIn: json.expires_in,
          tokenType: json.token_type,
        }
        if (json.scope !== undefined) issued.scope = json.scope
        return issued
      } finally {
        shapes.delete(id)
      }
    },

    async issueRefreshToken(refreshOptions = {}) {
      const models = provider as unknown as ProviderModels
      const client = await models.Client.find(tokenClient.clientId)
      if (!client) throw new Error(`client ${tokenClient.clientId} not found`)
      const expiresIn = refreshOptions.expiresInSeconds ?? 3600
      const refreshToken = new models.RefreshToken({
        client,
        accountId: refreshOptions.accountId ?? 'user-1',
        scope: refreshOptions.scope ?? 'openid offline_access',
        gty: 'authorization_code',
        expiresIn,
      })
      return { token: await refreshToken.save(), expiresIn }
    },

    async revoke(token) {
      const response = await fetch(endpoints.revocationEndpoint, {
        method: 'POST',
        headers: {
          authorization: basicAuthorization(tokenClient.clientId, tokenClient.clientSecret),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: form({ token, token_type_hint: 'access_token' }),
      })
      const text = await response.text()
      if (!response.ok) {
        throw new Error(
          `revocation endpoint answered ${response.status}: ${text}${describeErrors()}`,
        )
      }
    },

    async introspect(token) {
      const response = await fetch(endpoints.introspectionEndpoint, {
        method: 'POST',
        headers: {
          authorization: basicAuthorization(basic.clientId, basic.clientSecret),
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form({ token }),
      })
      const text = await response.text()
      if (!response.ok) {
        throw new Error(
          `introspection endpoint answered ${response.status}: ${text}${describeErrors()}`,
        )
      }
      return JSON.parse(text) as Record<string, unknown>
    },

    async rotateKeys(algorithms, rotateOptions = {}) {
      const fresh = await generateSigningKeys(
        algorithms ?? keys.map((key) => key.alg as SigningAlgorithm),
      )
      install(rotateOptions.retainPrevious ? [...fresh, ...keys] : fresh)
      return { kids: fresh.map((key) => key.kid ?? '') }
    },

    setDown(isDown, mode = 'status') {
      down = isDown ? mode : undefined
    },

    close() {
      return listening.close()
    },
  }
  return testIssuer
}

// ---------------------------------------------------------------------------------------------

export interface ZitadelShapeOptions {
  projectId: string
  /** Client ids that precede the project id in `aud` (ZITADEL puts the app client ids first). */
  clientIds?: readonly string[]
  /** `{ role: { orgId: orgDomain } }` */
  roles?: Record<string, Record<string, string>>
  /** `client_id` claim. */
  clientId?: string
  /** Extra claims merged last. */
  claims?: Record<string, unknown>
}

/** Options for `issueToken` that make a ZITADEL-shaped access token. Spread into issueToken options. */
export function zitadelShape(options: ZitadelShapeOptions): {
  audience: string[]
  header: Record<string, unknown>
  claims: Record<string, unknown>
} {
  const roles = options.roles ?? {}
  const claims: Record<string, unknown> = {
    [`urn:zitadel:iam:org:project:${options.projectId}:roles`]: roles,
    'urn:zitadel:iam:org:project:roles': roles,
  }
  if (options.clientId !== undefined) claims.client_id = options.clientId
  return {
    audience: [...(options.clientIds ?? []), options.projectId],
    header: { typ: 'JWT' },
    claims: { ...claims, ...options.claims },
  }
}
