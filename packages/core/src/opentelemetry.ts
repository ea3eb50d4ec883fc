/**
 * @tokenward/core/opentelemetry: the validator's `onEvent` reports as OpenTelemetry spans and
 * metrics, through `@opentelemetry/api` (an optional peer dependency: only this entry point
 * loads it; `@tokenward/core` itself never does).
 *
 * ```ts
 * import { createValidator } from '@tokenward/core'
 * import { tokenwardTelemetry } from '@tokenward/core/opentelemetry'
 *
 * const validator = createValidator({ issuer, audience, onEvent: tokenwardTelemetry() })
 * ```
 *
 * @packageDocumentation
 */
import {
  SpanKind,
  SpanStatusCode,
  metrics,
  trace,
  type Attributes,
  type Counter,
  type Histogram,
  type Meter,
  type MeterProvider,
  type Tracer,
} from '@opentelemetry/api'
import { ERROR_CODES } from './errors.js'
import type { TokenwardEvent } from './types.js'

/** The instrumentation scope of the default tracer and meter: this package. */
const SCOPE = '@tokenward/core'

// The build writes the package's version here; run from the sources, the scope has none.
declare const TOKENWARD_CORE_VERSION: string | undefined
const VERSION = typeof TOKENWARD_CORE_VERSION === 'string' ? TOKENWARD_CORE_VERSION : undefined

/** The span of one authentication. */
export const SPAN_NAME = 'tokenward.authenticate'

/** Attribute names on spans and metric points. */
export const ATTRIBUTES = {
  /** `accepted`, or the error code of the rejection (`token_expired`, `upstream_unavailable`…). */
  outcome: 'tokenward.outcome',
  /** `jwt` or `introspection`; accepted tokens only. */
  source: 'tokenward.source',
  /** Whether the answer came from the verdict or introspection caches; accepted tokens only. */
  cacheHit: 'tokenward.cache_hit',
  /** The token's issuer; accepted tokens only, spans only (unbounded with templated issuers). */
  issuer: 'tokenward.issuer',
  /** The subject (`sub ?? client_id`): only with `recordSubject: true`, spans only. */
  subject: 'enduser.id',
  /** The error code of a 5xx outcome (OpenTelemetry's `error.type`). */
  errorType: 'error.type',
  /** `token` (verified JWTs) or `introspection` (introspection answers). */
  cache: 'tokenward.cache',
  /** `hit` or `miss`. */
  cacheResult: 'tokenward.cache.result',
  /** `discovery`, `jwks` or `introspection`. */
  upstreamTarget: 'tokenward.upstream.target',
  /** `2xx`…`5xx`, or `none` when no answer came (connection error, timeout). */
  upstreamStatusClass: 'tokenward.upstream.status_class',
} as const

/** Metric names. */
export const METRICS = {
  /** Counter: authentications by `tokenward.outcome` (and `tokenward.source` when accepted). */
  authentications: 'tokenward.authentications',
  /** Histogram, ms: how long each authentication took, with the counter's attributes. */
  authenticationDuration: 'tokenward.authentication.duration',
  /** Counter: route guards' refusals (`requireRoles`, `requireScopes`…), by `tokenward.outcome`. */
  guardRejections: 'tokenward.guard.rejections',
  /** Counter: cache lookups by `tokenward.cache` and `tokenward.cache.result` (the hit ratio). */
  cacheLookups: 'tokenward.cache.lookups',
  /** Histogram, ms: each request to the issuer, by target and status class. */
  upstreamDuration: 'tokenward.upstream.request.duration',
  /** Counter: failed requests to the issuer (outages: each answered 503), by target. */
  upstreamFailures: 'tokenward.upstream.failures',
  /** Counter: key sets fetched from the issuer's JWKS. */
  jwksRefreshes: 'tokenward.jwks.refreshes',
} as const

/** Options of {@link tokenwardTelemetry}. */
export interface TelemetryOptions {
  /** Where spans go. Default: `trace.getTracer('@tokenward/core', version)` (the global provider). */
  readonly tracer?: Tracer
  /**
   * Where metrics go. Default: `metrics.getMeter('@tokenward/core', version)` of the global meter
   * provider, looked up again when another provider is registered (so the SDK may start after
   * the validator is created).
   */
  readonly meter?: Meter
  /**
   * Put the subject (`sub ?? client_id`) on spans as `enduser.id`. Default false: a subject is
   * personal data, and many tracing backends are not the place for it. Never on metrics.
   */
  readonly recordSubject?: boolean
  /** Your own hook: gets every event after it is recorded, as `onEvent` would. */
  readonly onEvent?: (event: TokenwardEvent) => void
}

/** Milliseconds: from 50 µs (a cached token) to 10 s (a slow issuer). */
const AUTHENTICATION_BUCKETS = [
  0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
]

interface Instruments {
  readonly authentications: Counter
  readonly authenticationDuration: Histogram
  readonly guardRejections: Counter
  readonly cacheLookups: Counter
  readonly upstreamDuration: Histogram
  readonly upstreamFailures: Counter
  readonly jwksRefreshes: Counter
}

function instruments(meter: Meter): Instruments {
  return {
    authentications: meter.createCounter(METRICS.authentications, {
      description: 'Authentications, by outcome (accepted or the error code)',
      unit: '{authentication}',
    }),
    authenticationDuration: meter.createHistogram(METRICS.authenticationDuration, {
      description: 'Time from the start of a validation to its answer',
      unit: 'ms',
      advice: { explicitBucketBoundaries: AUTHENTICATION_BUCKETS },
    }),
    guardRejections: meter.createCounter(METRICS.guardRejections, {
      description: 'Requests refused by a route guard, by error code',
      unit: '{rejection}',
    }),
    cacheLookups: meter.createCounter(METRICS.cacheLookups, {
      description: 'Lookups in the verdict and introspection caches, by cache and result',
      unit: '{lookup}',
    }),
    upstreamDuration: meter.createHistogram(METRICS.upstreamDuration, {
      description: 'Requests to the issuer (discovery, JWKS, introspection) and how long they took',
      unit: 'ms',
    }),
    upstreamFailures: meter.createCounter(METRICS.upstreamFailures, {
      description: 'Failed requests to the issuer (outages and refused configuration), by target',
      unit: '{failure}',
    }),
    jwksRefreshes: meter.createCounter(METRICS.jwksRefreshes, {
      description: "Key sets fetched from the issuer's JWKS",
      unit: '{refresh}',
    }),
  }
}

/** `2xx`…`5xx`, `none` for no answer. */
function statusClass(status: number | undefined): string {
  return status === undefined ? 'none' : `${Math.floor(status / 100)}xx`
}

function check(options: TelemetryOptions): void {
  const problem = (option: string, expected: string) =>
    new TypeError(`tokenwardTelemetry: option "${option}" must be ${expected}`)
  const { tracer, meter, recordSubject, onEvent } = options as Partial<Record<string, unknown>>
  if (tracer !== undefined && typeof (tracer as Partial<Tracer>).startSpan !== 'function')
    throw problem('tracer', 'an OpenTelemetry Tracer')
  if (meter !== undefined && typeof (meter as Partial<Meter>).createCounter !== 'function')
    throw problem('meter', 'an OpenTelemetry Meter')
  if (recordSubject !== undefined && typeof recordSubject !== 'boolean')
    throw problem('recordSubject', 'a boolean')
  if (onEvent !== undefined && typeof onEvent !== 'function')
    throw problem('onEvent', 'a function (event) => void')
}

/**
 * An `onEvent` hook that reports the validator's decisions to OpenTelemetry.
 *
 * **Spans.** One `tokenward.authenticate` span per authentication, made when its answer is
 * reported: it starts `durationMs` before that moment and is a child of the span active then
 * (the HTTP server span of the request). Attributes: `tokenward.outcome` (`accepted` or the
 * error code); for an accepted token `tokenward.source`, `tokenward.cache_hit` and
 * `tokenward.issuer`; `enduser.id` only with `recordSubject: true`. Never the token.
 *
 * Its status is ERROR only for an outcome answered with a 5xx (`upstream_unavailable`: the
 * issuer is down), with `error.type` set to the code. A 401 or 403 is an answer, not a fault:
 * the validator worked and refused a bad token, so those spans keep the status UNSET and
 * `tokenward.outcome` says why. A route guard's refusal (`requireRoles`, `requireScopes`) makes
 * no span; it is counted in `tokenward.guard.rejections`.
 *
 * **Metrics** (names in {@link METRICS}): `tokenward.authentications` and
 * `tokenward.authentication.duration` (ms) by outcome, `tokenward.guard.rejections`,
 * `tokenward.cache.lookups` by cache and result (the hit ratio),
 * `tokenward.upstream.request.duration` (ms) by target and status class,
 * `tokenward.upstream.failures` by target, `tokenward.jwks.refreshes`. Their attributes have few
 * values each: no issuer, subject or URL.
 *
 * @throws TypeError for an option of the wrong type, naming it.
 */
export function tokenwardTelemetry(
  options: TelemetryOptions = {},
): (event: TokenwardEvent) => void {
  check(options)
  const tracer = options.tracer ?? trace.getTracer(SCOPE, VERSION)
  const recordSubject = options.recordSubject === true
  const chained = options.onEvent

  const ownMeter = options.meter
  let provider: MeterProvider | undefined
  let current: Instruments | undefined
  /** The instruments, made again when the global meter provider changed (e.g. the SDK started). */
  const meter = (): Instruments => {
    if (ownMeter !== undefined) return (current ??= instruments(ownMeter))
    const global = metrics.getMeterProvider()
    if (current === undefined || global !== provider) {
      provider = global
      current = instruments(global.getMeter(SCOPE, VERSION))
    }
    return current
  }

  const span = (attributes: Attributes, durationMs: number, fault: string | undefined): void => {
    // The clock `durationMs` was measured on, which the API takes as a time too (`TimeInput`).
    const end = performance.now()
    const started = tracer.startSpan(SPAN_NAME, {
      kind: SpanKind.INTERNAL,
      startTime: end - durationMs,
      attributes,
    })
    if (fault !== undefined) started.setStatus({ code: SpanStatusCode.ERROR, message: fault })
    started.end(end)
  }

  const record = (event: TokenwardEvent): void => {
    switch (event.type) {
      case 'authenticated': {
        const counted: Attributes = {
          [ATTRIBUTES.outcome]: 'accepted',
          [ATTRIBUTES.source]: event.source,
        }
        const instrumented = meter()
        instrumented.authentications.add(1, counted)
        instrumented.authenticationDuration.record(event.durationMs, counted)
        const attributes: Attributes = {
          ...counted,
          [ATTRIBUTES.cacheHit]: event.cached,
          [ATTRIBUTES.issuer]: event.issuer,
        }
        if (recordSubject && event.subject !== undefined)
          attributes[ATTRIBUTES.subject] = event.subject
        span(attributes, event.durationMs, undefined)
        return
      }
      case 'rejected': {
        const counted: Attributes = { [ATTRIBUTES.outcome]: event.code }
        const fault = ERROR_CODES[event.code].status >= 500 ? event.code : undefined
        if (event.durationMs === undefined) {
          // Untimed: a route guard's refusal, or a failed warmUp() (a 5xx, whose upstream
          // failure is counted already).
          if (fault === undefined) meter().guardRejections.add(1, counted)
          return
        }
        const instrumented = meter()
        instrumented.authentications.add(1, counted)
        instrumented.authenticationDuration.record(event.durationMs, counted)
        span(
          fault === undefined ? counted : { ...counted, [ATTRIBUTES.errorType]: fault },
          event.durationMs,
          fault,
        )
        return
      }
      case 'cache_hit':
      case 'cache_miss':
        meter().cacheLookups.add(1, {
          [ATTRIBUTES.cache]: event.cache,
          [ATTRIBUTES.cacheResult]: event.type === 'cache_hit' ? 'hit' : 'miss',
        })
        return
      case 'upstream_request':
        meter().upstreamDuration.record(event.durationMs, {
          [ATTRIBUTES.upstreamTarget]: event.target,
          [ATTRIBUTES.upstreamStatusClass]: statusClass(event.status),
        })
        return
      case 'upstream_failed':
        meter().upstreamFailures.add(1, { [ATTRIBUTES.upstreamTarget]: event.target })
        return
      case 'keys_refreshed':
        meter().jwksRefreshes.add(1)
        return
      default:
        // Other events (stale keys used, refused tokens, rejected store entries) have no
        // instrument: they reach the chained hook only.
        return
    }
  }

  return (event) => {
    record(event)
    chained?.(event)
  }
}
