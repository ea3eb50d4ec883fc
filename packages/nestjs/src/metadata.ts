/**
 * This API's protected resource metadata (RFC 9728), served by `TokenwardModule` when the
 * validator has the `resource` option: the core's `metadataResponse` answers a GET (or HEAD) of
 * `/.well-known/oauth-protected-resource` followed by the path of the resource id (§3.1).
 *
 * It is a handler on the HTTP adapter (Express or Fastify), as `SwaggerModule.setup` installs
 * its document, rather than a Nest route: RFC 9728 §3 derives the URL from the resource id, so a
 * global prefix or URI versioning must not move it, and the document is public, so no guard of
 * the application may stand in front of it. A request for any other path goes on unchanged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { metadataResponse, type Validator } from '@tokenward/core'

/** A Node request as Express (`originalUrl`) or Fastify's middleware layer passes it. */
type MetadataRequest = IncomingMessage & { readonly originalUrl?: string }

/** A connect-style handler: answers the metadata request, passes every other one on. */
export type MetadataHandler = (
  request: MetadataRequest,
  response: ServerResponse,
  next: (error?: unknown) => void,
) => void

/** The handler serving `validator`'s document, or undefined when it has no `resource` option. */
export function metadataHandler(validator: Validator): MetadataHandler | undefined {
  if (validator.protectedResource?.() === undefined) return undefined
  return (request, response, next) => {
    const method = request.method ?? 'GET'
    const answer = metadataResponse(validator, method, request.originalUrl ?? request.url ?? '/')
    if (answer === undefined) {
      next()
      return
    }
    const body = JSON.stringify(answer.body)
    response.writeHead(answer.status, {
      ...answer.headers,
      'content-length': String(Buffer.byteLength(body)),
    })
    response.end(method === 'HEAD' ? undefined : body)
  }
}
