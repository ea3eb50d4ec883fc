/**
 * What the core needs from the platform beyond Web standards, in one place. Two builds implement
 * it: `node.ts` (node:crypto, node:fs and Buffer: Node, Bun, Deno) and `web.ts` (only `crypto`,
 * `TextEncoder`/`TextDecoder`, `atob`/`btoa` and jose: Cloudflare Workers and any other runtime
 * with the Web APIs). `index.ts` is the Node one; the Web build (tsup.config.ts) swaps in
 * `web.ts`. Every answer is the same on both, except where a member says otherwise.
 */
import type { CryptoKey, KeyObject } from 'jose'
import type { VerificationKey } from '../keys.js'

/** The members of a public JWK that key identity needs (RFC 7638 §3.2). */
export interface PublicJwkMembers {
  readonly kty?: unknown
  readonly crv?: unknown
  readonly e?: unknown
  readonly n?: unknown
  readonly x?: unknown
  readonly y?: unknown
}

/** JWS algorithms a ZITADEL key file's key signs client assertions with. */
export type AssertionAlgorithm = 'RS256' | 'ES256' | 'EdDSA'

/** A key a client assertion can be signed with (jose's `SignJWT.sign` takes either). */
export type AssertionKey = CryptoKey | KeyObject

/** A PEM private key, read: its algorithm and the key (a promise where the import is async). */
export type PrivateKeyImport =
  | {
      readonly alg: AssertionAlgorithm
      readonly key: AssertionKey | Promise<AssertionKey>
    }
  /** Not a PEM private key this build reads, or a key of another type or curve. */
  | { readonly problem: 'format' | 'type' }

/** A request to the issuer (discovery, introspection), as the core sends it. */
export interface HttpRequest {
  readonly method: 'GET' | 'POST'
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string
  /** The whole exchange's time limit. */
  readonly timeoutMs: number
  /** The largest body read. */
  readonly maxBytes: number
}

/** The issuer's answer: its status and its body as text (any status; redirects not followed). */
export interface HttpAnswer {
  readonly status: number
  readonly text: string
}

/**
 * Why a request got no answer the core can read: `timeout` (no answer within `timeoutMs`),
 * `too_large` (a body over `maxBytes`), `failed` (the connection failed). The error's `cause` has
 * the platform's own error.
 */
export type HttpFailure = 'timeout' | 'too_large' | 'failed'

export interface Runtime {
  /** Which build this is. */
  readonly name: 'node' | 'web'
  /** SHA-256 (FIPS 180-4) of `data` (text as UTF-8), base64url without padding (RFC 4648 §5). */
  sha256(data: string | Uint8Array): string
  /** HMAC-SHA-256 (RFC 2104) of the UTF-8 text `data` under `key`, base64url without padding. */
  hmacSha256(key: Uint8Array, data: string): string
  /** Whether two byte strings are equal, in time that depends only on their length. */
  timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean
  /**
   * Bytes of base64 or base64url text (RFC 4648 §4, §5), read leniently: both alphabets, text
   * from the first `=` on ignored, other characters outside the alphabets skipped, a last lone
   * character dropped.
   */
  decodeBase64(text: string): Uint8Array
  /**
   * The UTF-8 text of {@link decodeBase64}'s bytes: invalid sequences as U+FFFD, a byte order
   * mark kept.
   */
  decodeBase64Text(text: string): string
  /** Standard base64 with padding (RFC 4648 §4). */
  encodeBase64(bytes: Uint8Array): string
  /**
   * The verdict on a compact JWS's signature with `key` where this build verifies it itself;
   * undefined where jose decides (always, on the Web build).
   */
  verifyNatively(token: string, alg: string, key: VerificationKey): boolean | undefined
  /**
   * The public JWK of a key jose gave, to tell keys apart: synchronous on Node, a promise where
   * Web Crypto has to export it. Rejects (or throws) for a key that cannot be exported.
   */
  exportPublicJwk(key: VerificationKey): PublicJwkMembers | Promise<PublicJwkMembers>
  /**
   * Why a public JWK given in the options cannot be used, or undefined. Node imports it; the
   * Web build (where importing is asynchronous) checks its members, and jose imports it on first
   * use.
   */
  publicJwkProblem(jwk: Readonly<Record<string, unknown>>): string | undefined
  /** A PEM private key for client assertions (RFC 7523 §2.2). */
  importPrivateKey(pem: string): PrivateKeyImport
  /** The text of a file, or undefined where this build has no file system. Throws if unreadable. */
  readonly readTextFile: ((path: string) => string) | undefined
  /**
   * Sends a request over HTTP/1.1 on kept-alive connections, or undefined where `fetch` is the
   * way (the Web build). Rejects with an `Error` whose `failure` is an {@link HttpFailure}.
   */
  readonly send: ((url: string, request: HttpRequest) => Promise<HttpAnswer>) | undefined
}
