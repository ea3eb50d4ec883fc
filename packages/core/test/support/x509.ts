// Minimal X.509 v3 certificates built with node:crypto alone (no openssl binary): a self-signed
// one for the x5c / x5u header-injection attacks (a real certificate holding an attacker's RSA
// key), and a throwaway certificate authority issuing TLS client and server certificates for the
// mTLS tests (RFC 8705) on 127.0.0.1.
import {
  X509Certificate,
  generateKeyPairSync,
  randomBytes,
  sign,
  type KeyObject,
} from 'node:crypto'

function length(size: number): Buffer {
  if (size < 0x80) return Buffer.from([size])
  const bytes: number[] = []
  for (let rest = size; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(content.length), content])
}

const sequence = (...parts: Buffer[]): Buffer => tlv(0x30, Buffer.concat(parts))
const set = (...parts: Buffer[]): Buffer => tlv(0x31, Buffer.concat(parts))

function integer(value: Buffer): Buffer {
  // DER integers are signed: a leading 1 bit needs a zero byte in front.
  return tlv(0x02, (value[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), value]) : value)
}

function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number)
  const bytes = [first * 40 + second]
  for (const arc of rest) {
    const chunk: number[] = [arc & 0x7f]
    for (let rest7 = Math.floor(arc / 128); rest7 > 0; rest7 = Math.floor(rest7 / 128)) {
      chunk.unshift((rest7 & 0x7f) | 0x80)
    }
    bytes.push(...chunk)
  }
  return tlv(0x06, Buffer.from(bytes))
}

function utcTime(date: Date): Buffer {
  const text = date.toISOString().replace(/[-:T]/g, '').slice(2, 14)
  return tlv(0x17, Buffer.from(`${text}Z`, 'ascii'))
}

function name(commonName: string): Buffer {
  return sequence(set(sequence(oid('2.5.4.3'), tlv(0x0c, Buffer.from(commonName, 'utf8')))))
}

/** The signature algorithm of a signing key: sha256WithRSAEncryption or ecdsa-with-SHA256. */
function signatureAlgorithm(signingKey: KeyObject): Buffer {
  if (signingKey.asymmetricKeyType === 'rsa') {
    return sequence(oid('1.2.840.113549.1.1.11'), Buffer.from([0x05, 0x00]))
  }
  if (signingKey.asymmetricKeyType === 'ec') return sequence(oid('1.2.840.10045.4.3.2'))
  throw new Error(`no certificate signature algorithm for ${signingKey.asymmetricKeyType} keys`)
}

interface CertificateFields {
  subject: string
  issuer: string
  serial: Buffer
  publicKey: KeyObject
  /** The issuer's private key. */
  signingKey: KeyObject
  /** X.509 v3 extensions (RFC 5280 §4.2), each an Extension SEQUENCE. */
  extensions?: readonly Buffer[]
}

/** A DER X.509 v3 certificate (RFC 5280 §4.1), valid from an hour ago for a day. */
function certificate(fields: CertificateFields): Buffer {
  const algorithm = signatureAlgorithm(fields.signingKey)
  const now = Date.now()
  const extensions = fields.extensions ?? []
  const tbs = sequence(
    tlv(0xa0, integer(Buffer.from([2]))),
    integer(fields.serial),
    algorithm,
    name(fields.issuer),
    sequence(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + 86_400_000))),
    name(fields.subject),
    fields.publicKey.export({ type: 'spki', format: 'der' }),
    ...(extensions.length === 0 ? [] : [tlv(0xa3, sequence(...extensions))]),
  )
  const signature = sign('sha256', tbs, fields.signingKey)
  return sequence(tbs, algorithm, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])))
}

/** A DER self-signed certificate (sha256WithRSAEncryption) for an RSA key pair. */
export function selfSignedCertificate(
  publicKey: KeyObject,
  privateKey: KeyObject,
  commonName = 'attacker.example',
): Buffer {
  const der = certificate({
    subject: commonName,
    issuer: commonName,
    serial: Buffer.from([0x01, 0x23, 0x45, 0x67]),
    publicKey,
    signingKey: privateKey,
  })
  // Parse it back: a certificate Node cannot read would make the attack meaningless.
  if (!new X509Certificate(der).verify(publicKey)) {
    throw new Error('the self-signed certificate does not verify')
  }
  return der
}

/** An Extension (RFC 5280 §4.1): its OID, critical or not, and its DER value. */
function extension(id: string, critical: boolean, value: Buffer): Buffer {
  const flag = critical ? [tlv(0x01, Buffer.from([0xff]))] : []
  return sequence(oid(id), ...flag, tlv(0x04, value))
}

const bitString = (unusedBits: number, bytes: number[]): Buffer =>
  tlv(0x03, Buffer.from([unusedBits, ...bytes]))

/** A certificate and the key pair it certifies. */
export interface CertifiedKey {
  readonly der: Buffer
  readonly pem: string
  readonly x509: X509Certificate
  readonly privateKey: KeyObject
  /** PEM (PKCS#8) of the private key, for `tls` options. */
  readonly keyPem: string
}

/** A throwaway certificate authority for TLS tests on 127.0.0.1. */
export interface CertificateAuthority extends CertifiedKey {
  /** A TLS client certificate (extended key usage clientAuth, RFC 8705 §2). */
  issueClient(commonName: string): CertifiedKey
  /** A TLS server certificate for 127.0.0.1 and localhost (serverAuth). */
  issueServer(commonName?: string): CertifiedKey
}

function certifiedKey(der: Buffer, privateKey: KeyObject): CertifiedKey {
  return {
    der,
    pem: certificatePem(der),
    x509: new X509Certificate(der),
    privateKey,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  }
}

/**
 * A CA (P-256 key, basicConstraints CA, keyCertSign) that issues client and server certificates
 * with P-256 keys, each signed with ecdsa-with-SHA256: enough for Node's TLS to verify a chain.
 */
export function createCertificateAuthority(commonName = 'tokenward test CA'): CertificateAuthority {
  const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const caDer = certificate({
    subject: commonName,
    issuer: commonName,
    serial: randomSerial(),
    publicKey: ca.publicKey,
    signingKey: ca.privateKey,
    extensions: [
      extension('2.5.29.19', true, sequence(tlv(0x01, Buffer.from([0xff])))),
      // keyCertSign and cRLSign (bits 5 and 6).
      extension('2.5.29.15', true, bitString(1, [0x06])),
    ],
  })
  const issue = (subject: string, usage: string, altNames: readonly Buffer[]): CertifiedKey => {
    const leaf = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const der = certificate({
      subject,
      issuer: commonName,
      serial: randomSerial(),
      publicKey: leaf.publicKey,
      signingKey: ca.privateKey,
      extensions: [
        extension('2.5.29.19', true, sequence()),
        // digitalSignature (bit 0).
        extension('2.5.29.15', true, bitString(7, [0x80])),
        extension('2.5.29.37', false, sequence(oid(usage))),
        ...(altNames.length === 0 ? [] : [extension('2.5.29.17', false, sequence(...altNames))]),
      ],
    })
    if (!new X509Certificate(der).verify(ca.publicKey)) {
      throw new Error(`the certificate of ${subject} does not verify with the CA key`)
    }
    return certifiedKey(der, leaf.privateKey)
  }
  return {
    ...certifiedKey(caDer, ca.privateKey),
    issueClient: (subject) => issue(subject, '1.3.6.1.5.5.7.3.2', []),
    issueServer: (subject = 'localhost') =>
      issue(subject, '1.3.6.1.5.5.7.3.1', [
        tlv(0x82, Buffer.from('localhost', 'ascii')),
        tlv(0x87, Buffer.from([127, 0, 0, 1])),
      ]),
  }
}

/** A positive 64-bit serial number (RFC 5280 §4.1.2.2). */
function randomSerial(): Buffer {
  const serial = randomBytes(8)
  serial[0] = (serial[0]! & 0x7f) | 0x01
  return serial
}

/** PEM text of a DER certificate (what an `x5u` URL serves). */
export function certificatePem(der: Uint8Array): string {
  const body = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
  return `-----BEGIN CERTIFICATE-----\n${body}${body.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`
}
