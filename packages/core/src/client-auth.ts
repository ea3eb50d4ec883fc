/**
 * How this API authenticates itself to the introspection endpoint (RFC 7662 §2.1): a client
 * secret (RFC 6749 §2.3.1, Basic or in the form) or a `private_key_jwt` assertion signed with a
 * ZITADEL key file (RFC 7523 §2.2). The option is checked, and the key file read, once.
 */
import { SignJWT } from 'jose'
import { ConfigurationError } from './errors.js'
import { fail, isObject, refuseUnknownOptions } from './option-values.js'
import { runtime } from './runtime/index.js'
import type { AssertionAlgorithm, AssertionKey } from './runtime/contract.js'
import type { IntrospectionAuth, ZitadelKeyFile } from './types.js'

/** `application/x-www-form-urlencoded` serialisation (WHATWG), as RFC 6749 §2.3.1 requires. */
export function formUrlEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2)
}

/** RFC 6749 §2.3.1 client_secret_basic: both parts form-url-encoded before base64. */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  const pair = `${formUrlEncode(clientId)}:${formUrlEncode(clientSecret)}`
  return `Basic ${runtime.encodeBase64(new TextEncoder().encode(pair))}`
}

const OPTION = 'introspection.auth'

/** The checked `introspection.auth` option; throws a `ConfigurationError`. */
export function introspectionAuthOption(auth: unknown): IntrospectionAuth {
  if (!isObject(auth)) {
    fail(
      OPTION,
      "is required: { method: 'client_secret_basic', clientId, clientSecret } or { method: 'private_key_jwt', keyFile }",
    )
  }
  const method = auth.method
  if (method === 'client_secret_basic' || method === 'client_secret_post') {
    refuseUnknownOptions(OPTION, ['method', 'clientId', 'clientSecret'], auth)
    if (typeof auth.clientId !== 'string' || auth.clientId === '')
      fail(`${OPTION}.clientId`, 'must be the client id of this API')
    if (typeof auth.clientSecret !== 'string' || auth.clientSecret === '')
      fail(`${OPTION}.clientSecret`, 'must be the client secret of this API')
    return auth as unknown as IntrospectionAuth
  }
  if (method === 'private_key_jwt') {
    refuseUnknownOptions(OPTION, ['method', 'keyFile'], auth)
    const keyFile = auth.keyFile
    if (typeof keyFile === 'string') {
      if (keyFile === '')
        fail(`${OPTION}.keyFile`, 'must be the path of a ZITADEL key file, or its parsed JSON')
      return auth as unknown as IntrospectionAuth
    }
    zitadelKeyFile(keyFile, `${OPTION}.keyFile`)
    return auth as unknown as IntrospectionAuth
  }
  return fail(
    `${OPTION}.method`,
    `must be 'client_secret_basic', 'client_secret_post' or 'private_key_jwt'; got ${String(method)}`,
  )
}

/** A ZITADEL key file for an application or a service account; throws a `ConfigurationError`. */
function zitadelKeyFile(keyFile: unknown, option: string): ZitadelKeyFile {
  if (!isObject(keyFile))
    fail(option, 'must be a ZITADEL key file: { type, keyId, key, clientId | userId }')
  if (keyFile.type !== 'application' && keyFile.type !== 'serviceaccount') {
    fail(
      `${option}.type`,
      `must be 'application' or 'serviceaccount'; got ${JSON.stringify(keyFile.type)}`,
    )
  }
  if (typeof keyFile.keyId !== 'string' || keyFile.keyId === '')
    fail(`${option}.keyId`, 'must be the key id from the key file')
  if (typeof keyFile.key !== 'string' || !keyFile.key.includes('PRIVATE KEY-----')) {
    fail(`${option}.key`, 'must be the PEM private key from the key file')
  }
  const clientId = keyFile.type === 'application' ? keyFile.clientId : keyFile.userId
  if (typeof clientId !== 'string' || clientId === '') {
    fail(
      `${option}.${keyFile.type === 'application' ? 'clientId' : 'userId'}`,
      'must be set: it is the assertion issuer and subject',
    )
  }
  return keyFile as unknown as ZitadelKeyFile
}

interface SigningKey {
  /** A promise where the import is asynchronous (the Web build), settled on first use. */
  readonly key: AssertionKey | Promise<AssertionKey>
  readonly alg: AssertionAlgorithm
  readonly keyId: string
  readonly clientId: string
}

/** The JSON text of a key file given as a path; the Web build has no file system. */
function readKeyFile(path: string, option: string): unknown {
  const read = runtime.readTextFile
  if (read === undefined) {
    throw new ConfigurationError(
      option,
      'is a file path, and this build of @tokenward/core (the Web build) has no file system: pass the parsed JSON of the key file instead',
    )
  }
  try {
    return JSON.parse(read(path))
  } catch (error) {
    throw new ConfigurationError(
      option,
      `could not be read as a JSON key file (${(error as Error).message})`,
    )
  }
}

/** Reads a ZITADEL key file (path or parsed) once, at construction. */
function loadSigningKey(keyFile: string | ZitadelKeyFile): SigningKey {
  const option = `${OPTION}.keyFile`
  const file = zitadelKeyFile(
    typeof keyFile === 'string' ? readKeyFile(keyFile, option) : keyFile,
    option,
  )
  const imported = runtime.importPrivateKey(file.key)
  if ('problem' in imported) {
    throw new ConfigurationError(
      `${option}.key`,
      imported.problem === 'format'
        ? 'is not a PKCS#1 or PKCS#8 PEM private key'
        : 'must be an RSA, P-256 or Ed25519 private key',
    )
  }
  const clientId = (file.type === 'application' ? file.clientId : file.userId)!
  return { key: imported.key, alg: imported.alg, keyId: file.keyId, clientId }
}

/** The credentials of one validator, added to each introspection request. */
export class ClientAuthentication {
  /** The client id the introspection answers are given to (part of their cache key). */
  readonly clientId: string
  readonly #signingKey: SigningKey | undefined

  constructor(private readonly auth: IntrospectionAuth) {
    this.#signingKey = auth.method === 'private_key_jwt' ? loadSigningKey(auth.keyFile) : undefined
    this.clientId = auth.method === 'private_key_jwt' ? this.#signingKey!.clientId : auth.clientId
  }

  /** Adds the credentials to the request; `issuer` is the audience of an assertion. */
  async apply(headers: Record<string, string>, body: URLSearchParams, issuer: string) {
    const auth = this.auth
    if (auth.method === 'client_secret_basic') {
      headers.authorization = basicAuthorization(auth.clientId, auth.clientSecret)
    } else if (auth.method === 'client_secret_post') {
      body.set('client_id', auth.clientId)
      body.set('client_secret', auth.clientSecret)
    } else {
      body.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
      body.set('client_assertion', await this.#assertion(issuer))
    }
  }

  /** A fresh assertion per request: issuers reject a replayed `jti` (RFC 7523 §3). */
  async #assertion(issuer: string): Promise<string> {
    const { key, alg, keyId, clientId } = this.#signingKey!
    return new SignJWT({})
      .setProtectedHeader({ alg, kid: keyId, typ: 'JWT' })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(issuer)
      .setIssuedAt()
      .setExpirationTime('60s')
      .setJti(crypto.randomUUID())
      .sign(await key)
  }
}
