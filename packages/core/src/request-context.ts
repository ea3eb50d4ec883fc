/**
 * The request as DPoP and mTLS binding see it, built from what a server framework offers: the
 * absolute URL the client used (RFC 9449 §4.3 compares `htu` with it) and the client
 * certificate (RFC 8705 §3). Behind a proxy the URL comes from `http.baseUrl`, or from
 * `X-Forwarded-Proto` / `X-Forwarded-Host` only when `http.trustProxy` says the proxy is
 * trusted: otherwise a client could choose the URL its proof is checked against.
 */
import type { HttpConfig } from './request-options.js'
import type { ClientCertificate, RequestContext } from './types.js'

/** What an adapter reads from its framework's request. */
export interface HttpRequestParts {
  readonly method: string
  /** The path and query as the server received them (`/orders?id=1`). */
  readonly path: string
  /** The request headers, names in lower case. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>
  /** The connection is TLS. */
  readonly encrypted: boolean
  /** The TLS connection's client certificate, when there is one. */
  readonly certificate?: ClientCertificate | undefined
}

function first(value: string | readonly string[] | undefined): string | undefined {
  const text = typeof value === 'string' ? value : value?.[0]
  return text?.split(',')[0]?.trim() || undefined
}

/** The {@link RequestContext} of a request, by the validator's `http` option. */
export function requestContextOf(parts: HttpRequestParts, http: HttpConfig): RequestContext {
  const { headers } = parts
  let url: string
  if (http.baseUrl !== undefined) {
    url = `${http.baseUrl}${parts.path}`
  } else {
    const forwarded = http.trustProxy
    const protocol =
      (forwarded ? first(headers['x-forwarded-proto']) : undefined) ??
      (parts.encrypted ? 'https' : 'http')
    const host = (forwarded ? first(headers['x-forwarded-host']) : undefined) ?? first(headers.host)
    url = `${protocol}://${host ?? 'localhost'}${parts.path}`
  }
  let certificate = parts.certificate
  if (http.clientCertificateHeader !== undefined) {
    const passed = first(headers[http.clientCertificateHeader])
    // Proxies pass the PEM URL-encoded (nginx `$ssl_client_escaped_cert`, Envoy XFCC's Cert).
    certificate = passed === undefined ? undefined : decodeURIComponent(passed)
  }
  return {
    method: parts.method,
    url,
    headers,
    ...(certificate === undefined ? {} : { clientCertificate: certificate }),
  }
}
