/**
 * Requests to the issuer on Node's own HTTP client (also Bun's and Deno's `node:http`): one
 * connection pool per protocol with kept-alive connections, the body read once into one buffer,
 * one timer per request. A request through `fetch` costs about twice the CPU on Node 20 (its
 * Web streams), and an introspection miss is on the path of every new opaque token.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import type { HttpAnswer, HttpFailure, HttpRequest } from './contract.js'

/**
 * Idle kept-alive sockets do not hold the process open (the agent unrefs them), and are closed
 * after 4 s idle: before the 5 s after which Node's own servers (and many proxies) close theirs,
 * so a request seldom meets a socket the server is closing.
 */
const IDLE_MS = 4000
const agents = {
  http: new HttpAgent({ keepAlive: true, timeout: IDLE_MS }),
  https: new HttpsAgent({ keepAlive: true, timeout: IDLE_MS }),
}

/** How a reused socket fails when the server closed it as the request went out. */
const CLOSED_BY_SERVER = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED'])

function failure(kind: HttpFailure, message: string, cause?: unknown): Error {
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), {
    failure: kind,
  })
}

export function sendRequest(url: string, request: HttpRequest): Promise<HttpAnswer> {
  return sendOnce(url, request, true)
}

/**
 * One exchange. A kept-alive socket the server closed just as it was reused fails before any
 * answer; the request is then sent once more on a new connection (discovery and introspection
 * are safe to repeat, RFC 9110 §9.2.2: they change nothing).
 */
function sendOnce(url: string, request: HttpRequest, mayRetry: boolean): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const https = url.startsWith('https:')
    const headers: Record<string, string | number> = { ...request.headers }
    if (request.body !== undefined) headers['content-length'] = Buffer.byteLength(request.body)
    let settled = false
    const settle = (error: Error | undefined, answer?: HttpAnswer): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (error === undefined) resolve(answer!)
      else {
        outgoing.destroy()
        reject(error)
      }
    }
    const outgoing = (https ? httpsRequest : httpRequest)(
      url,
      { method: request.method, headers, agent: https ? agents.https : agents.http },
      (response) => {
        readBody(response, request.maxBytes, (error, text) => {
          if (error !== undefined) settle(error)
          else settle(undefined, { status: response.statusCode ?? 0, text: text! })
        })
      },
    )
    const timer = setTimeout(() => {
      settle(failure('timeout', `no answer within ${request.timeoutMs} ms`))
    }, request.timeoutMs)
    outgoing.on('error', (cause: NodeJS.ErrnoException) => {
      if (mayRetry && !settled && outgoing.reusedSocket && CLOSED_BY_SERVER.has(cause.code ?? '')) {
        settled = true
        clearTimeout(timer)
        resolve(sendOnce(url, request, false))
        return
      }
      settle(failure('failed', 'request failed', cause))
    })
    outgoing.end(request.body)
  })
}

/** The body as UTF-8 text, refused past `maxBytes` (declared or read). */
function readBody(
  response: IncomingMessage,
  maxBytes: number,
  done: (error: Error | undefined, text?: string) => void,
): void {
  const tooLarge = (): void => {
    response.destroy()
    done(failure('too_large', `response body over ${maxBytes} bytes`))
  }
  if (Number(response.headers['content-length']) > maxBytes) {
    tooLarge()
    return
  }
  const chunks: Buffer[] = []
  let size = 0
  response.on('data', (chunk: Buffer) => {
    size += chunk.length
    if (size > maxBytes) tooLarge()
    else chunks.push(chunk)
  })
  response.on('end', () => {
    done(undefined, (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8'))
  })
  response.on('error', (cause) => {
    done(failure('failed', 'request failed', cause))
  })
}
