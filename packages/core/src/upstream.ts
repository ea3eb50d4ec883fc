/**
 * Talking to the issuer: bounded requests (timeout, body size) and the back-off that turns an
 * outage into an immediate 503 instead of a queue of requests waiting on timeouts.
 */
import { TokenwardError } from './errors.js'
import type { HttpAnswer, HttpRequest } from './runtime/contract.js'
import type { Logger, TokenwardEvent } from './types.js'

/** Largest discovery, JWKS or introspection body read, bytes. */
const MAX_RESPONSE_BYTES = 512 * 1024

/** Longest piece of upstream text (an error code, a field value) kept in a reason. */
const MAX_UPSTREAM_TEXT = 100

/**
 * Text from an upstream answer as it may appear in a log line, an event or an error's `cause`:
 * every occurrence of `secret` (the token being checked) removed, reduced to printable ASCII,
 * cut to {@link MAX_UPSTREAM_TEXT} characters. An issuer may echo what it was sent.
 */
export function upstreamText(value: unknown, secret?: string): string {
  // JSON.stringify answers undefined for a function, whatever its type says.
  let text =
    typeof value === 'string'
      ? value
      : ((JSON.stringify(value) as string | undefined) ?? typeof value)
  if (secret !== undefined && secret !== '') text = text.split(secret).join('[token]')
  text = text.replace(/[^\x20-\x7e]/g, '?')
  return text.length > MAX_UPSTREAM_TEXT ? `${text.slice(0, MAX_UPSTREAM_TEXT - 3)}...` : text
}

/** Why an upstream answer was not usable; kept as the `cause` of `upstream_unavailable`. */
export class UpstreamFailure extends Error {
  /** The HTTP status, when an answer came. */
  readonly status: number | undefined
  /** The issuer refused this server's own configuration (e.g. its client credentials). */
  readonly misconfigured: boolean

  /** `reason` is ours; any upstream text in it went through {@link upstreamText}. */
  constructor(
    readonly url: string,
    readonly reason: string,
    options?: { cause?: unknown; status?: number; misconfigured?: boolean },
  ) {
    super(`${reason} (${url})`, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'UpstreamFailure'
    this.status = options?.status
    this.misconfigured = options?.misconfigured === true
  }
}

/**
 * A fetch that refuses bodies over `maxBytes` and gives the caller a fully read Response, so no
 * socket stays open on an abandoned stream.
 */
export function boundedFetch(fetchImpl: typeof fetch, maxBytes = MAX_RESPONSE_BYTES): typeof fetch {
  return async (input, init) => {
    const response = await fetchImpl(input, init)
    const body = await readBounded(
      response,
      maxBytes,
      String(input instanceof Request ? input.url : input),
    )
    return new Response(body, { status: response.status, headers: response.headers })
  }
}

async function readBounded(response: Response, maxBytes: number, url: string): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'))
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined)
    throw new UpstreamFailure(url, `response body over ${maxBytes} bytes`)
  }
  if (response.body === null) return new Uint8Array(0)
  const reader = (response.body as ReadableStream<Uint8Array>).getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined)
      throw new UpstreamFailure(url, `response body over ${maxBytes} bytes`)
    }
    chunks.push(value)
  }
  if (chunks.length === 1) return chunks[0]!
  const body = new Uint8Array(size)
  let at = 0
  for (const chunk of chunks) {
    body.set(chunk, at)
    at += chunk.byteLength
  }
  return body
}

/** Result of {@link requestJson}: the status and the parsed body. */
export interface JsonResponse {
  readonly status: number
  readonly json: unknown
}

/** Result of {@link requestAnswer}: the status and the body, parsed when it is JSON. */
export interface Answer {
  readonly status: number
  /** The parsed body; undefined when the body is not JSON. */
  readonly json: unknown
}

/** One bounded request whose body must be JSON. Every failure is an {@link UpstreamFailure}. */
export async function requestJson(
  context: UpstreamContext,
  target: UpstreamTarget,
  url: string,
  init: UpstreamRequest,
  timeoutMs: number,
): Promise<JsonResponse> {
  const answer = await requestAnswer(context, target, url, init, timeoutMs)
  if (answer.json === undefined) {
    throw new UpstreamFailure(url, `answer is not JSON (HTTP ${answer.status})`, {
      status: answer.status,
    })
  }
  return answer
}

/**
 * One bounded request: any status, the body parsed when it is JSON. A connection failure, a
 * timeout or an oversized body is an {@link UpstreamFailure}.
 */
export async function requestAnswer(
  context: UpstreamContext,
  target: UpstreamTarget,
  url: string,
  init: UpstreamRequest,
  timeoutMs: number,
): Promise<Answer> {
  const started = performance.now()
  let status: number | undefined
  try {
    const answer = await requestOnce(context, url, init, timeoutMs)
    status = answer.status
    return answer
  } finally {
    reportRequest(context, target, url, status, started)
  }
}

/** Reports an upstream request's latency (`status` undefined: no answer came). */
export function reportRequest(
  context: UpstreamContext,
  target: UpstreamTarget,
  url: string,
  status: number | undefined,
  started: number,
): void {
  const durationMs = performance.now() - started
  context.onEvent?.({ type: 'upstream_request', target, url, status, durationMs })
}

/** Which upstream a request went to. */
export type UpstreamTarget = 'discovery' | 'jwks' | 'introspection'

/** What discovery and introspection send: a GET or a form POST, with its headers. */
export interface UpstreamRequest {
  readonly method: 'GET' | 'POST'
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string
}

async function requestOnce(
  context: UpstreamContext,
  url: string,
  init: UpstreamRequest,
  timeoutMs: number,
): Promise<Answer> {
  let answer: { status: number; text: string }
  try {
    answer =
      context.send === undefined
        ? await fetchText(context.fetch, url, init, timeoutMs)
        : await context.send(url, { ...init, timeoutMs, maxBytes: MAX_RESPONSE_BYTES })
  } catch (cause) {
    if (cause instanceof UpstreamFailure) throw cause
    const failure = (cause as { failure?: unknown } | null)?.failure
    if (failure === 'too_large') {
      throw new UpstreamFailure(url, `response body over ${MAX_RESPONSE_BYTES} bytes`)
    }
    const timedOut =
      failure === 'timeout' || (cause instanceof Error && cause.name === 'TimeoutError')
    throw new UpstreamFailure(
      url,
      timedOut ? `no answer within ${timeoutMs} ms` : 'request failed',
      {
        cause,
      },
    )
  }
  let json: unknown
  try {
    json = JSON.parse(answer.text)
  } catch {
    json = undefined
  }
  return { status: answer.status, json }
}

/** The request through `fetch` (the Web build, or a `fetch` option): the body read once. */
async function fetchText(
  fetchImpl: typeof fetch,
  url: string,
  init: UpstreamRequest,
  timeoutMs: number,
): Promise<{ status: number; text: string }> {
  const response = await fetchImpl(url, {
    ...init,
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
  })
  const body = await readBounded(response, MAX_RESPONSE_BYTES, url)
  return { status: response.status, text: new TextDecoder().decode(body) }
}

/**
 * After a failure, calls are refused at once until the back-off has passed; the wait doubles
 * with each further failure, up to `maxMs`, and resets on success.
 */
export class Backoff {
  #until = 0
  #nextMs: number
  #failing = false

  constructor(
    readonly minMs: number,
    readonly maxMs: number,
  ) {
    this.#nextMs = minMs
  }

  /** Seconds to wait before the next attempt, or 0 when one may be made now. */
  remainingSeconds(now = Date.now()): number {
    return now < this.#until ? Math.max(1, Math.ceil((this.#until - now) / 1000)) : 0
  }

  /** Records a failure; true when it is the first of an outage (the last attempt succeeded). */
  failed(now = Date.now()): boolean {
    this.#until = now + this.#nextMs
    this.#nextMs = Math.min(this.#nextMs * 2, this.maxMs)
    const first = !this.#failing
    this.#failing = true
    return first
  }

  succeeded(): void {
    this.#until = 0
    this.#nextMs = this.minMs
    this.#failing = false
  }
}

/** Shared by discovery, keys and introspection: report a failure once, answer with a 503. */
export interface UpstreamContext {
  readonly fetch: typeof fetch
  /** The runtime's own HTTP client, used instead of `fetch` unless a `fetch` option is given. */
  readonly send: ((url: string, request: HttpRequest) => Promise<HttpAnswer>) | undefined
  readonly logger: Logger | undefined
  readonly onEvent: ((event: TokenwardEvent) => void) | undefined
  readonly backoff: { readonly minMs: number; readonly maxMs: number }
}

/**
 * A failed upstream request: backs `backoff` off, logs the failure once per outage (the first
 * failure after a success: a long outage is one line, not one per back-off period) and reports
 * every failure as an `upstream_failed` event.
 */
export function reportFailure(
  context: UpstreamContext,
  backoff: Backoff,
  target: UpstreamTarget,
  url: string,
  error: unknown,
  level: 'warn' | 'error' = 'warn',
): void {
  if (backoff.failed()) {
    const reason = error instanceof Error ? error.message : String(error)
    context.logger?.[level](`tokenward: ${target} request failed: ${reason}`, { target, url })
  }
  context.onEvent?.({ type: 'upstream_failed', target, url, error })
}

export function unavailable(backoff: Backoff, cause?: unknown): TokenwardError {
  return new TokenwardError('upstream_unavailable', {
    retryAfterSeconds: Math.max(1, backoff.remainingSeconds()),
    cause,
  })
}
