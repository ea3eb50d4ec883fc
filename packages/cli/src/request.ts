/**
 * The request a token came with, for `tokenward inspect`: the DPoP proof and the request it was
 * made for (RFC 9449), the client certificate (RFC 8705) and the route's step-up requirements
 * (RFC 9470). They are read from the command line and handed to the core as `inspect`'s
 * `request` and `requirements`; the core decides. What is kept here besides is evidence for the
 * hints: the proof decoded (not verified) and the certificate's thumbprint.
 */
import { X509Certificate, createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { certificateThumbprint, normalizeHtu, type RequestContext } from '@tokenward/core'
import { UsageError, strings, text, type CommandLine, type OptionSpecs } from './args.js'
import { decodeToken, type JsonObject } from './decode.js'

/** The options of `tokenward inspect` that describe the request and the route's step-up. */
export const REQUEST_OPTIONS: OptionSpecs = {
  'dpop-proof': { type: 'string' },
  method: { type: 'string' },
  url: { type: 'string' },
  cert: { type: 'string' },
  'cert-thumbprint': { type: 'string' },
  acr: { type: 'string', multiple: true },
  'max-age': { type: 'string' },
}

/** A DPoP proof's header and claims, decoded only, and its key's RFC 7638 thumbprint. */
export interface DecodedProof {
  readonly header: JsonObject
  readonly claims: JsonObject
  readonly jkt: string | undefined
}

/** What the hints may know of the request besides the core's verdict. Nothing in it is verified. */
export interface RequestEvidence {
  /** `--method`, or GET when a request was described without one. */
  readonly method?: string
  /** `--url`. */
  readonly url?: string
  /** The DPoP proof's header and claims, decoded only, and its key's RFC 7638 thumbprint. */
  readonly proof?: DecodedProof | undefined
  /** base64url SHA-256 of the client certificate (RFC 8705 §3.1), and the option it came from. */
  readonly certificate?: {
    readonly thumbprint: string
    readonly from: '--cert' | '--cert-thumbprint'
  }
}

/** What the command line says about the request. */
export interface ReadRequest {
  /** The request for the core, or undefined when none was described (a bare Bearer token). */
  readonly request: RequestContext | undefined
  /** `acr` and `maxAge` requirements (RFC 9470), when given. */
  readonly stepUp: { readonly acr?: string[]; readonly maxAge?: number }
  readonly evidence: RequestEvidence
}

/** An HTTP method is a token (RFC 9110 §9.1, §5.6.2). */
const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** A SHA-256 thumbprint: 32 bytes as unpadded base64url (43 characters) or as hex. */
const BASE64URL_SHA256 = /^[A-Za-z0-9_-]{43}$/
const HEX_SHA256 = /^(?:[0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/
/** A certificate file is a few KiB; stop before reading something else whole. */
const MAX_CERTIFICATE_FILE = 1024 * 1024

/** Reads the request options; throws a {@link UsageError} for a bad one. */
export function readRequest(line: CommandLine): ReadRequest {
  const proof = text(line, 'dpop-proof')?.trim()
  const method = text(line, 'method')
  const url = text(line, 'url')
  if (method !== undefined && !METHOD.test(method)) {
    throw new UsageError('--method takes an HTTP method as sent, e.g. GET or POST')
  }
  if (url !== undefined && normalizeHtu(url) === undefined) {
    throw new UsageError(
      '--url takes the absolute http(s) URL the request was sent to, e.g. https://api.example.com/orders',
    )
  }
  if (proof !== undefined && url === undefined) {
    throw new UsageError(
      '--dpop-proof needs --url (and --method, default GET): the request the proof was made for, checked against its htu and htm',
    )
  }
  const certificatePath = text(line, 'cert')
  const thumbprintOption = text(line, 'cert-thumbprint')
  if (certificatePath !== undefined && thumbprintOption !== undefined) {
    throw new UsageError('give --cert or --cert-thumbprint, not both')
  }
  const der = certificatePath === undefined ? undefined : readCertificate(certificatePath)
  const thumbprint =
    der !== undefined
      ? certificateThumbprint(der)
      : thumbprintOption === undefined
        ? undefined
        : readThumbprint(thumbprintOption)

  const described =
    proof !== undefined || method !== undefined || url !== undefined || thumbprint !== undefined
  // Without --url the URL is never read: the core compares it with htu only, and a proof
  // requires --url. The host is a reserved name (RFC 6761) so it cannot be mistaken for the API.
  const request: RequestContext | undefined = described
    ? {
        method: method ?? 'GET',
        url: url ?? 'https://api.invalid/',
        headers: proof === undefined ? {} : { dpop: proof },
        // A thumbprint stands for the certificate it names (RFC 8705 §3.1).
        ...(thumbprint === undefined ? {} : { clientCertificate: der ?? { thumbprint } }),
      }
    : undefined

  const acr = strings(line, 'acr')
    ?.flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter((value) => value !== '')
  if (acr !== undefined && acr.length === 0) {
    throw new UsageError('--acr takes one or more acr values, e.g. --acr urn:mfa,phr')
  }
  const maxAgeText = text(line, 'max-age')
  if (maxAgeText !== undefined && !/^\d{1,9}$/.test(maxAgeText)) {
    throw new UsageError('--max-age takes whole seconds since the login, e.g. --max-age 300')
  }
  return {
    request,
    stepUp: {
      ...(acr === undefined ? {} : { acr }),
      ...(maxAgeText === undefined ? {} : { maxAge: Number(maxAgeText) }),
    },
    evidence: {
      ...(described ? { method: method ?? 'GET' } : {}),
      ...(url === undefined ? {} : { url }),
      ...(proof === undefined ? {} : { proof: decodeProof(proof) }),
      ...(thumbprint === undefined
        ? {}
        : {
            certificate: {
              thumbprint,
              from: der === undefined ? ('--cert-thumbprint' as const) : ('--cert' as const),
            },
          }),
    },
  }
}

/** The DER of the first certificate in a PEM or DER file. */
function readCertificate(path: string): Uint8Array {
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (error) {
    const code = (error as { code?: unknown }).code
    throw new UsageError(
      `--cert: cannot read ${path}${typeof code === 'string' ? ` (${code})` : ''}`,
    )
  }
  if (bytes.length > MAX_CERTIFICATE_FILE) {
    throw new UsageError(`--cert: ${path} is larger than a certificate file (1 MiB)`)
  }
  try {
    return new Uint8Array(new X509Certificate(bytes).raw)
  } catch {
    throw new UsageError(`--cert: ${path} holds no PEM or DER X.509 certificate`)
  }
}

/** A thumbprint as base64url, from base64url or hex (`openssl x509 -fingerprint -sha256`). */
function readThumbprint(value: string): string {
  const given = value.trim().replace(/^sha256 fingerprint=/i, '')
  if (BASE64URL_SHA256.test(given)) return given
  if (HEX_SHA256.test(given))
    return Buffer.from(given.replace(/:/g, ''), 'hex').toString('base64url')
  throw new UsageError(
    "--cert-thumbprint takes the certificate's SHA-256 thumbprint: base64url (43 characters, as in x5t#S256) or hex (openssl x509 -fingerprint -sha256)",
  )
}

/** The proof's header and claims, decoded and not verified, and its key's thumbprint. */
function decodeProof(proof: string): DecodedProof | undefined {
  const decoded = decodeToken(proof)
  if (decoded.format !== 'jwt') return undefined
  const jwk = decoded.header.jwk
  return {
    header: decoded.header,
    claims: decoded.claims,
    jkt: typeof jwk === 'object' && jwk !== null ? jwkThumbprint(jwk as JsonObject) : undefined,
  }
}

/** The members RFC 7638 §3.2 hashes, in lexicographic order, by key type (RFC 8037 §2 for OKP). */
const THUMBPRINT_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  EC: ['crv', 'kty', 'x', 'y'],
  RSA: ['e', 'kty', 'n'],
  OKP: ['crv', 'kty', 'x'],
}

/**
 * RFC 7638 SHA-256 thumbprint of a public JWK, for showing which key signed a proof beside the
 * token's `cnf.jkt`. The core computes its own for the decision; this one only labels.
 */
export function jwkThumbprint(jwk: JsonObject): string | undefined {
  const members = typeof jwk.kty === 'string' ? THUMBPRINT_MEMBERS[jwk.kty] : undefined
  if (members === undefined || !members.every((name) => typeof jwk[name] === 'string')) {
    return undefined
  }
  const canonical = JSON.stringify(Object.fromEntries(members.map((name) => [name, jwk[name]])))
  return createHash('sha256').update(canonical, 'utf8').digest('base64url')
}
