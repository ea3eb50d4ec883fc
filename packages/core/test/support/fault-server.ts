// A tiny fixture HTTP server on 127.0.0.1 for faults a real OpenID Provider cannot produce.
import type * as http from 'node:http'

import { listen } from './listen.js'

export type FaultBehaviour =
  /** `body`: a string is sent as text/plain, anything else as JSON (unless `headers` set content-type). */
  | { status: number; body?: unknown; headers?: Record<string, string> }
  /** Waits `delayMs` (headers included) and then behaves like `then`. */
  | { delayMs: number; then: FaultBehaviour }
  /** 200, `content-type: application/json`, body that is not JSON. */
  | 'garbage'
  /** 200 whose body is `oversizedBytes` bytes, streamed in chunks; no Content-Length unless `declareLength`. */
  | { oversizedBytes: number; declareLength?: boolean; contentType?: string }
  /** Never answers (the socket stays open until the server closes). */
  | 'hang'
  /** Destroys the socket without an answer. */
  | 'reset'

/**
 * A route: one behaviour for every request, a list (the n-th request gets the n-th entry, the last
 * one repeats), or a function of the recorded request.
 */
export type FaultRoute =
  FaultBehaviour | readonly FaultBehaviour[] | ((request: RecordedRequest) => FaultBehaviour)

export interface RecordedRequest {
  method: string
  /** Path without the query string (what routes match on). */
  path: string
  /** Path with the query string. */
  url: string
  headers: http.IncomingHttpHeaders
  body: string
}

export interface FaultServer {
  /** `http://127.0.0.1:<port>` */
  url: string
  port: number
  /** Sets (replaces) the behaviour for an exact path. Unknown paths answer 404 JSON. */
  setRoute(path: string, route: FaultRoute): void
  /** Every received request, in arrival order (recorded once its body was read). */
  readonly requests: readonly RecordedRequest[]
  requestsTo(path: string): RecordedRequest[]
  clearRequests(): void
  close(): Promise<void>
}

const CHUNK = 64 * 1024

export async function startFaultServer(): Promise<FaultServer> {
  const routes = new Map<string, { route: FaultRoute; hits: number }>()
  const requests: RecordedRequest[] = []
  const timers = new Set<NodeJS.Timeout>()

  function resolve(path: string, request: RecordedRequest): FaultBehaviour | undefined {
    const entry = routes.get(path)
    if (!entry) return undefined
    const hit = entry.hits
    entry.hits += 1
    const { route } = entry
    if (typeof route === 'function') return route(request)
    if (Array.isArray(route)) return route[Math.min(hit, route.length - 1)]
    return route as FaultBehaviour
  }

  function respond(req: http.IncomingMessage, res: http.ServerResponse, behaviour: FaultBehaviour) {
    if (behaviour === 'hang') return
    if (behaviour === 'reset') {
      req.socket.destroy()
      return
    }
    if (behaviour === 'garbage') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('<html>this is { not JSON')
      return
    }
    if ('delayMs' in behaviour) {
      const timer = setTimeout(() => {
        timers.delete(timer)
        if (!res.destroyed) respond(req, res, behaviour.then)
      }, behaviour.delayMs)
      timers.add(timer)
      return
    }
    if ('oversizedBytes' in behaviour) {
      const total = behaviour.oversizedBytes
      const headers: Record<string, string | number> = {
        'content-type': behaviour.contentType ?? 'application/json',
      }
      if (behaviour.declareLength) headers['content-length'] = total
      res.writeHead(200, headers)
      const chunk = Buffer.alloc(Math.min(CHUNK, Math.max(total, 1)), 'x')
      let sent = 0
      const pump = () => {
        while (sent < total && !res.destroyed) {
          const size = Math.min(chunk.length, total - sent)
          sent += size
          if (!res.write(size === chunk.length ? chunk : chunk.subarray(0, size))) {
            res.once('drain', pump)
            return
          }
        }
        if (!res.destroyed) res.end()
      }
      pump()
      return
    }
    const headers: Record<string, string> = { ...behaviour.headers }
    const hasContentType = Object.keys(headers).some(
      (name) => name.toLowerCase() === 'content-type',
    )
    let payload = ''
    if (typeof behaviour.body === 'string') {
      payload = behaviour.body
      if (!hasContentType) headers['content-type'] = 'text/plain; charset=utf-8'
    } else if (behaviour.body !== undefined) {
      payload = JSON.stringify(behaviour.body)
      if (!hasContentType) headers['content-type'] = 'application/json'
    }
    res.writeHead(behaviour.status, headers)
    res.end(payload)
  }

  const listening = await listen((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const url = req.url ?? '/'
      const queryAt = url.indexOf('?')
      const path = queryAt === -1 ? url : url.slice(0, queryAt)
      const request: RecordedRequest = {
        method: req.method ?? 'GET',
        path,
        url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      }
      requests.push(request)
      const behaviour = resolve(path, request) ?? {
        status: 404,
        body: { error: 'not_found', path },
      }
      respond(req, res, behaviour)
    })
  })

  return {
    url: listening.url,
    port: listening.port,
    setRoute(path, route) {
      routes.set(path, { route, hits: 0 })
    },
    requests,
    requestsTo(path) {
      return requests.filter((request) => request.path === path)
    },
    clearRequests() {
      requests.length = 0
    },
    async close() {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      await listening.close()
    },
  }
}

/** An `http://127.0.0.1:<port>` URL where nothing listens (connections are refused). */
export async function refusedUrl(): Promise<string> {
  const listening = await listen((_req, res) => {
    res.end()
  })
  await listening.close()
  return listening.url
}
