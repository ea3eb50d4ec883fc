/**
 * The Fetch API side of the adapter kit: for handlers that take a Web `Request` and answer a
 * `Response` (Cloudflare Workers, `Bun.serve`, `Deno.serve`, Next.js route handlers, Hono).
 */
import { metadataResponse, renderFailure } from './adapter.js'
import type { AuthResult, RequestContext, Requirements } from './types.js'
import type { Validator } from './validator.js'

/**
 * Authenticates a Fetch API request and, when given, checks the route's requirements. Resolves
 * to the {@link AuthResult}, or to the `Response` to answer with (status, `WWW-Authenticate`,
 * `Cache-Control: no-store`, `Retry-After` on 503, JSON body: the same answer as every adapter).
 *
 * ```ts
 * const auth = await authenticateFetch(validator, request, { roles: ['admin'] })
 * if (auth instanceof Response) return auth
 * ```
 */
export function authenticateFetch(
  validator: Validator,
  request: Request,
  requirements?: Requirements,
): Promise<AuthResult | Response> {
  const metadata = metadataResponse(validator, request.method, new URL(request.url).pathname)
  if (metadata !== undefined) {
    return Promise.resolve(new Response(JSON.stringify(metadata.body), metadata))
  }
  return validator
    .authenticate(fetchAuthorizationValues(request.headers), requirements, () =>
      fetchRequestContext(validator, request),
    )
    .catch((error: unknown) => failureResponse(validator, error))
}

/**
 * The request as DPoP binding sees it (RFC 9449 §4.3): its method, its URL as the runtime gives
 * it (or as `http.baseUrl` / trusted proxy headers say) and its headers. A Fetch API request
 * carries no client certificate; behind a TLS-terminating proxy, `http.clientCertificateHeader`
 * names the header that does.
 */
export function fetchRequestContext(validator: Validator, request: Request): RequestContext {
  const url = new URL(request.url)
  const headers: Record<string, string> = {}
  request.headers.forEach((value, name) => {
    headers[name] = value
  })
  const parts = {
    method: request.method,
    path: `${url.pathname}${url.search}`,
    headers: { host: url.host, ...headers },
    encrypted: url.protocol === 'https:',
  }
  return validator.requestContext?.(parts) ?? { method: request.method, url: request.url, headers }
}

/** The `Response` for a failure: {@link renderFailure}'s status, headers and JSON body. */
export function failureResponse(validator: Validator, error: unknown): Response {
  const { status, headers, body } = renderFailure(validator, error)
  return new Response(JSON.stringify(body), { status, headers })
}

/**
 * Every `Authorization` value of a Fetch API request. `Headers` joins a header sent more than
 * once into one value with ", " (Fetch Standard, "combine"), so the request's lines are gone;
 * this splits the joined value again at each ", " that starts another credentials
 * (RFC 9110 §11.4: `auth-scheme [ 1*SP ( token68 / #auth-param ) ]`), so that two headers are
 * still two values (`invalid_request` in the core). Commas inside one credentials are left
 * alone: a Bearer credential (RFC 6750 §2.1 b64token) has none, and in another scheme's
 * parameters a comma is followed by `name=` (BWS allowed, RFC 9110 §11.2) or sits inside a
 * quoted string (RFC 9110 §5.6.4).
 */
export function fetchAuthorizationValues(headers: Headers): string | string[] | undefined {
  const joined = headers.get('authorization')
  if (joined === null) return undefined
  if (!joined.includes(',')) return joined
  const values: string[] = []
  let start = 0
  let quoted = false
  for (let i = 0; i < joined.length; i++) {
    const char = joined[i]
    if (quoted && char === '\\') i++
    else if (char === '"') quoted = !quoted
    else if (char === ',' && !quoted && CREDENTIALS_START.test(joined.slice(i + 1))) {
      values.push(joined.slice(start, i))
      start = i + 1
    }
  }
  values.push(joined.slice(start))
  return values.length === 1 ? joined : values.map((value) => value.trim())
}

/**
 * What follows a comma where Headers joined two lines: the ", " it inserts, then an auth-scheme
 * (RFC 9110 §5.6.2 token) alone or followed by a space, not by `=` (an auth-param's name).
 */
const CREDENTIALS_START = /^ [!#$%&'*+.^_`|~0-9A-Za-z-]+(?:$| +(?! *=)\S)/
