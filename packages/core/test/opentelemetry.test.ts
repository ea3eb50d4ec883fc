// @tokenward/core/opentelemetry against the OpenTelemetry SDK's in-memory exporters: a real
// validator (static keys, or a JWKS served on 127.0.0.1), its spans (names, attributes, status,
// parent) and its metric points. The built package is checked too when there is a build: its
// instrumentation scope carries the version, and `@tokenward/core` alone never loads the API.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { context, metrics, trace, type Attributes } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type DataPoint,
  type Histogram,
} from '@opentelemetry/sdk-metrics'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createValidator, type TokenwardEvent, type ValidatorOptions } from '@tokenward/core'
import { listen, type Listening } from './support/listen.js'
import {
  ATTRIBUTES,
  METRICS,
  SPAN_NAME,
  tokenwardTelemetry,
  type TelemetryOptions,
} from '../src/opentelemetry.js'
import {
  AUDIENCE,
  ISSUER,
  claims,
  createKey,
  mint,
  rejection,
  type TestKey,
} from './support/tokens.js'

const spans = new InMemorySpanExporter()
const tracerProvider = new BasicTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(spans)],
})
const tracer = tracerProvider.getTracer('test')
const exported = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
const reader = new PeriodicExportingMetricReader({
  exporter: exported,
  exportIntervalMillis: 3_600_000,
})
const meterProvider = new MeterProvider({ readers: [reader] })
const meter = meterProvider.getMeter('test')
const contextManager = new AsyncLocalStorageContextManager()

let key: TestKey

beforeAll(async () => {
  // Parenting across `await` needs a context manager, as an application's SDK registers one.
  context.setGlobalContextManager(contextManager.enable())
  key = await createKey()
})
afterEach(() => {
  spans.reset()
})
afterAll(async () => {
  context.disable()
  await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()])
})

/** A valid token at the real current time (the validator and spans use it). */
async function token(overrides: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return mint(key, claims({ iat: now, exp: now + 600, ...overrides }))
}

/** A validator with static keys reporting through tokenwardTelemetry (and `events`). */
function observed(
  telemetry: TelemetryOptions = {},
  options: Partial<ValidatorOptions> = {},
): { validator: ReturnType<typeof createValidator>; events: TokenwardEvent[] } {
  const events: TokenwardEvent[] = []
  const validator = createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwks: { keys: [key.publicJwk] },
    ...options,
    onEvent: tokenwardTelemetry({
      tracer,
      meter,
      ...telemetry,
      onEvent: (event) => events.push(event),
    }),
  })
  return { validator, events }
}

function finished(): ReadableSpan[] {
  return spans.getFinishedSpans().filter((span) => span.name === SPAN_NAME)
}

function ms(span: ReadableSpan): number {
  return span.duration[0] * 1000 + span.duration[1] / 1e6
}

/** Every metric point recorded so far (cumulative), by metric name. */
async function points(): Promise<Map<string, DataPoint<unknown>[]>> {
  exported.reset()
  await reader.forceFlush()
  const byName = new Map<string, DataPoint<unknown>[]>()
  for (const scope of exported.getMetrics().at(-1)?.scopeMetrics ?? []) {
    for (const metric of scope.metrics) {
      byName.set(metric.descriptor.name, [
        ...(byName.get(metric.descriptor.name) ?? []),
        ...(metric.dataPoints as DataPoint<unknown>[]),
      ])
    }
  }
  return byName
}

/** The value of the point with exactly `attributes` (0 when there is none). */
function count(list: DataPoint<unknown>[] | undefined, attributes: Attributes): number {
  const point = list?.find((p) => JSON.stringify(p.attributes) === JSON.stringify(attributes))
  if (point === undefined) return 0
  return typeof point.value === 'number' ? point.value : (point.value as Histogram).count
}

type Growth = (name: string, attributes: Attributes) => number

/** Runs `step`; the answer says how much a metric point grew meanwhile (they are cumulative). */
async function growth(step: () => Promise<unknown>): Promise<Growth> {
  const before = await points()
  await step()
  const after = await points()
  return (name, attributes) =>
    count(after.get(name), attributes) - count(before.get(name), attributes)
}

/** Everything a span or metric carries, as text: no token may appear in it. */
async function everything(): Promise<string> {
  const all = spans.getFinishedSpans().map((span) => ({
    name: span.name,
    attributes: span.attributes,
    status: span.status,
    events: span.events,
  }))
  const recorded = [...(await points()).entries()].map(([name, list]) => ({
    name,
    attributes: list.map((p) => p.attributes),
  }))
  return JSON.stringify({ all, recorded })
}

describe('a span per authentication', () => {
  it('accepted: tokenward.authenticate with outcome, source, cache hit, issuer, and no subject', async () => {
    const { validator, events } = observed()
    const jwt = await token()
    await validator.authenticate(`Bearer ${jwt}`)
    await validator.authenticate(`Bearer ${jwt}`)

    const [first, second] = finished()
    expect(finished()).toHaveLength(2)
    expect(first!.attributes).toEqual({
      'tokenward.outcome': 'accepted',
      'tokenward.source': 'jwt',
      'tokenward.cache_hit': false,
      'tokenward.issuer': ISSUER,
    })
    expect(second!.attributes).toMatchObject({ 'tokenward.cache_hit': true })
    expect(first!.kind).toBe(0) // INTERNAL
    expect(first!.status).toEqual({ code: 0 }) // UNSET
    expect(first!.instrumentationScope.name).toBe('test')

    // The span lasts what the validation took: it started durationMs before the report.
    const durations = events.flatMap((event) =>
      event.type === 'authenticated' ? [event.durationMs] : [],
    )
    expect(ms(first!)).toBeCloseTo(durations[0]!, 2)
    expect(ms(second!)).toBeCloseTo(durations[1]!, 2)

    const text = await everything()
    expect(text).not.toContain(jwt)
    expect(text).not.toContain(jwt.split('.')[2]!)
    expect(text).not.toContain('user-1')
    expect(text).not.toContain('enduser.id')
  })

  it('enduser.id only with recordSubject: true', async () => {
    const { validator } = observed({ recordSubject: true })
    const jwt = await token({ sub: 'alice' })
    await validator.authenticate(`Bearer ${jwt}`)
    expect(finished()[0]!.attributes).toEqual({
      'tokenward.outcome': 'accepted',
      'tokenward.source': 'jwt',
      'tokenward.cache_hit': false,
      'tokenward.issuer': ISSUER,
      'enduser.id': 'alice',
    })
    // Never on a metric point.
    const recorded = JSON.stringify(
      [...(await points()).values()].map((l) => l.map((p) => p.attributes)),
    )
    expect(recorded).not.toContain('alice')
    expect(JSON.stringify(finished()[0]!.attributes)).not.toContain(jwt)
  })

  it('a 401 is an answer, not a fault: the outcome names the code and the status stays UNSET', async () => {
    const { validator } = observed()
    const expired = await token({
      iat: Math.floor(Date.now() / 1000) - 600,
      exp: Math.floor(Date.now() / 1000) - 60,
    })
    expect((await rejection(validator.authenticate(`Bearer ${expired}`))).code).toBe(
      'token_expired',
    )
    expect((await rejection(validator.authenticate(undefined))).code).toBe('missing_token')
    expect((await rejection(validator.authenticate('Bearer a b'))).code).toBe('invalid_request')

    expect(finished().map((span) => [span.attributes, span.status])).toEqual([
      [{ 'tokenward.outcome': 'token_expired' }, { code: 0 }],
      [{ 'tokenward.outcome': 'missing_token' }, { code: 0 }],
      [{ 'tokenward.outcome': 'invalid_request' }, { code: 0 }],
    ])
    expect(await everything()).not.toContain(expired.split('.')[2]!)
  })

  it('is a child of the span active when the decision is made (the HTTP server span)', async () => {
    const { validator } = observed()
    const jwt = await token()
    const parent = await tracer.startActiveSpan('GET /me', async (span) => {
      // Async work between the request's start and the validation, as in a real server.
      await new Promise((resolve) => setImmediate(resolve))
      await validator.authenticate(`Bearer ${jwt}`)
      await rejection(validator.authenticate(undefined))
      span.end()
      return span.spanContext()
    })
    await validator.authenticate(`Bearer ${jwt}`) // outside: a root span

    const [accepted, missing, outside] = finished()
    expect(accepted!.spanContext().traceId).toBe(parent.traceId)
    expect(accepted!.parentSpanContext?.spanId).toBe(parent.spanId)
    expect(missing!.parentSpanContext?.spanId).toBe(parent.spanId)
    expect(outside!.parentSpanContext).toBeUndefined()
    expect(outside!.spanContext().traceId).not.toBe(parent.traceId)
  })

  it("a route guard's refusal makes no span; it is counted", async () => {
    const { validator } = observed({}, { roles: 'scope' })
    const auth = await validator.authenticate(`Bearer ${await token({ scope: 'read' })}`)
    const grown = await growth(async () => {
      expect(() => {
        validator.authorize(auth, { roles: ['admin'] })
      }).toThrow()
    })
    expect(finished()).toHaveLength(1) // the authentication's
    expect(grown(METRICS.guardRejections, { 'tokenward.outcome': 'insufficient_role' })).toBe(1)
  })
})

describe('metrics', () => {
  it('authentications and their duration by outcome; cache lookups by cache and result', async () => {
    const { validator } = observed()
    const accepted = { 'tokenward.outcome': 'accepted', 'tokenward.source': 'jwt' }
    const expired = { 'tokenward.outcome': 'token_expired' }
    const hit = { 'tokenward.cache': 'token', 'tokenward.cache.result': 'hit' }
    const miss = { 'tokenward.cache': 'token', 'tokenward.cache.result': 'miss' }
    const delta = await growth(async () => {
      const jwt = await token()
      await validator.authenticate(`Bearer ${jwt}`)
      await validator.authenticate(`Bearer ${jwt}`)
      await validator.authenticate(`Bearer ${jwt}`)
      const old = Math.floor(Date.now() / 1000) - 600
      await rejection(validator.authenticate(`Bearer ${await token({ iat: old, exp: old + 60 })}`))
    })
    expect(delta(METRICS.authentications, accepted)).toBe(3)
    expect(delta(METRICS.authentications, expired)).toBe(1)
    expect(delta(METRICS.authenticationDuration, accepted)).toBe(3)
    expect(delta(METRICS.authenticationDuration, expired)).toBe(1)
    expect(delta(METRICS.cacheLookups, miss)).toBe(2)
    expect(delta(METRICS.cacheLookups, hit)).toBe(2)

    const duration = (await points()).get(METRICS.authenticationDuration)!
    const point = duration.find((p) => p.attributes['tokenward.outcome'] === 'accepted')!
    expect((point.value as Histogram).min).toBeGreaterThanOrEqual(0)
    expect((point.value as Histogram).buckets.boundaries).toContain(0.05)
  })

  it('names, units and descriptions follow the semantic-convention style', async () => {
    const own = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
    const ownReader = new PeriodicExportingMetricReader({
      exporter: own,
      exportIntervalMillis: 3_600_000,
    })
    const provider = new MeterProvider({ readers: [ownReader] })
    const report = tokenwardTelemetry({ tracer, meter: provider.getMeter('test') })
    const url = 'https://issuer.example.com/keys'
    const all: TokenwardEvent[] = [
      {
        type: 'authenticated',
        source: 'jwt',
        cached: false,
        issuer: ISSUER,
        subject: 's',
        durationMs: 1,
      },
      { type: 'rejected', code: 'insufficient_role' },
      { type: 'cache_hit', cache: 'introspection' },
      { type: 'upstream_request', target: 'jwks', url, status: undefined, durationMs: 5000 },
      { type: 'upstream_failed', target: 'jwks', url, error: new Error('timeout') },
      { type: 'keys_refreshed', url },
      { type: 'stale_keys_used', url },
    ]
    for (const event of all) report(event)
    await ownReader.forceFlush()
    const described = own
      .getMetrics()
      .at(-1)!
      .scopeMetrics.flatMap((scope) => scope.metrics)
      .map(({ descriptor, dataPoints }) => [
        descriptor.name,
        descriptor.unit,
        descriptor.description !== '',
        dataPoints.map((p) => p.attributes),
      ])
    expect(described).toEqual([
      [
        'tokenward.authentications',
        '{authentication}',
        true,
        [{ 'tokenward.outcome': 'accepted', 'tokenward.source': 'jwt' }],
      ],
      [
        'tokenward.authentication.duration',
        'ms',
        true,
        [{ 'tokenward.outcome': 'accepted', 'tokenward.source': 'jwt' }],
      ],
      [
        'tokenward.guard.rejections',
        '{rejection}',
        true,
        [{ 'tokenward.outcome': 'insufficient_role' }],
      ],
      [
        'tokenward.cache.lookups',
        '{lookup}',
        true,
        [{ 'tokenward.cache': 'introspection', 'tokenward.cache.result': 'hit' }],
      ],
      [
        'tokenward.upstream.request.duration',
        'ms',
        true,
        [{ 'tokenward.upstream.target': 'jwks', 'tokenward.upstream.status_class': 'none' }],
      ],
      ['tokenward.upstream.failures', '{failure}', true, [{ 'tokenward.upstream.target': 'jwks' }]],
      ['tokenward.jwks.refreshes', '{refresh}', true, [{}]],
    ])
    expect(Object.values(METRICS).sort()).toEqual(described.map(([name]) => name).sort())
    await provider.shutdown()
  })
})

describe('against an issuer on 127.0.0.1', () => {
  let server: Listening
  let jwksStatus = 200

  beforeAll(async () => {
    server = await listen((req, res) => {
      if (req.url !== '/jwks') {
        res.writeHead(404).end()
        return
      }
      res.writeHead(jwksStatus, { 'content-type': 'application/json' })
      res.end(jwksStatus === 200 ? JSON.stringify({ keys: [key.publicJwk] }) : '{}')
    })
  })
  afterAll(async () => {
    await server.close()
  })

  /** A validator that fetches its keys from the server (no static keys). */
  function remote(): ReturnType<typeof observed> {
    const events: TokenwardEvent[] = []
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: `${server.url}/jwks`,
      logger: false,
      onEvent: tokenwardTelemetry({ tracer, meter, onEvent: (event) => events.push(event) }),
    })
    return { validator, events }
  }

  it('upstream request duration by target and status class; key-set refreshes', async () => {
    jwksStatus = 200
    const ok = { 'tokenward.upstream.target': 'jwks', 'tokenward.upstream.status_class': '2xx' }
    const { validator, events } = remote()
    const delta = await growth(async () => {
      await validator.authenticate(`Bearer ${await token()}`)
      await validator.close()
    })
    expect(events.map((event) => event.type)).toContain('upstream_request')
    expect(delta(METRICS.upstreamDuration, ok)).toBe(1)
    expect(delta(METRICS.jwksRefreshes, {})).toBe(1)
    expect(finished()[0]!.attributes).toMatchObject({ 'tokenward.outcome': 'accepted' })
    // No URL on metric points: attributes with few values only.
    expect(
      JSON.stringify([...(await points()).values()].map((l) => l.map((p) => p.attributes))),
    ).not.toContain(server.url)
  })

  it('an issuer outage is a fault: span status ERROR with error.type, and a failure by target', async () => {
    jwksStatus = 500
    const failed = { 'tokenward.upstream.target': 'jwks', 'tokenward.upstream.status_class': '5xx' }
    const { validator } = remote()
    const delta = await growth(async () => {
      const error = await rejection(validator.authenticate(`Bearer ${await token()}`))
      expect([error.code, error.status]).toEqual(['upstream_unavailable', 503])
      await validator.close()
    })

    const [span] = finished()
    expect(span!.attributes).toEqual({
      'tokenward.outcome': 'upstream_unavailable',
      'error.type': 'upstream_unavailable',
    })
    expect(span!.status).toEqual({ code: 2, message: 'upstream_unavailable' }) // ERROR
    expect(delta(METRICS.upstreamDuration, failed)).toBe(1)
    expect(delta(METRICS.upstreamFailures, { 'tokenward.upstream.target': 'jwks' })).toBe(1)
    expect(delta(METRICS.authentications, { 'tokenward.outcome': 'upstream_unavailable' })).toBe(1)
  })

  it('a failed warmUp() is an upstream failure, not a guard rejection, and makes no span', async () => {
    jwksStatus = 500
    const { validator } = remote()
    const delta = await growth(async () => {
      expect((await rejection(validator.warmUp())).code).toBe('upstream_unavailable')
      await validator.close()
    })
    expect(delta(METRICS.upstreamFailures, { 'tokenward.upstream.target': 'jwks' })).toBe(1)
    expect(delta(METRICS.guardRejections, { 'tokenward.outcome': 'upstream_unavailable' })).toBe(0)
    expect(delta(METRICS.authentications, { 'tokenward.outcome': 'upstream_unavailable' })).toBe(0)
    expect(finished()).toEqual([])
  })
})

describe('options', () => {
  it("chains the user's own hook with every event, after recording it", async () => {
    const seen: string[] = []
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [key.publicJwk] },
      onEvent: tokenwardTelemetry({
        tracer,
        meter,
        onEvent: (event) => {
          seen.push(`${event.type}:${finished().length}`)
        },
      }),
    })
    await validator.authenticate(`Bearer ${await token()}`)
    expect(seen).toEqual(['cache_miss:0', 'authenticated:1'])
  })

  it('uses the global providers by default, even when they are registered later', async () => {
    const lateSpans = new InMemorySpanExporter()
    const lateTracer = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(lateSpans)],
    })
    const lateMetrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
    const lateReader = new PeriodicExportingMetricReader({
      exporter: lateMetrics,
      exportIntervalMillis: 3_600_000,
    })
    const lateMeter = new MeterProvider({ readers: [lateReader] })
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [key.publicJwk] },
      onEvent: tokenwardTelemetry(),
    })
    const jwt = await token()
    await validator.authenticate(`Bearer ${jwt}`) // no SDK yet: recorded nowhere
    try {
      trace.setGlobalTracerProvider(lateTracer)
      metrics.setGlobalMeterProvider(lateMeter)
      await validator.invalidate(jwt)
      await validator.authenticate(`Bearer ${jwt}`)

      const [span] = lateSpans.getFinishedSpans()
      expect(lateSpans.getFinishedSpans()).toHaveLength(1)
      expect(span!.name).toBe('tokenward.authenticate')
      expect(span!.instrumentationScope.name).toBe('@tokenward/core')
      await lateReader.forceFlush()
      const scope = lateMetrics.getMetrics().at(-1)!.scopeMetrics[0]!
      expect(scope.scope.name).toBe('@tokenward/core')
      const authentications = scope.metrics.find(
        (metric) => metric.descriptor.name === 'tokenward.authentications',
      )
      expect(authentications?.dataPoints.map((p) => [p.attributes, p.value])).toEqual([
        [{ 'tokenward.outcome': 'accepted', 'tokenward.source': 'jwt' }, 1],
      ])
    } finally {
      trace.disable()
      metrics.disable()
      await Promise.all([lateTracer.shutdown(), lateMeter.shutdown()])
    }
  })

  it('refuses an option of the wrong type, naming it', () => {
    expect(() => tokenwardTelemetry({ tracer: {} as never })).toThrow(
      'tokenwardTelemetry: option "tracer" must be an OpenTelemetry Tracer',
    )
    expect(() => tokenwardTelemetry({ meter: {} as never })).toThrow('option "meter"')
    expect(() => tokenwardTelemetry({ recordSubject: 'yes' as never })).toThrow(
      'option "recordSubject" must be a boolean',
    )
    expect(() => tokenwardTelemetry({ onEvent: 1 as never })).toThrow('option "onEvent"')
  })

  it('exports its attribute names', () => {
    expect(ATTRIBUTES.outcome).toBe('tokenward.outcome')
    expect(ATTRIBUTES.subject).toBe('enduser.id')
  })
})

const dist = fileURLToPath(new URL('../dist/', import.meta.url))
const built = existsSync(`${dist}opentelemetry.js`) && existsSync(`${dist}index.cjs`)

describe.skipIf(!built)('the built package', () => {
  it('names its version in the instrumentation scope', async () => {
    const { version } = JSON.parse(
      readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
    ) as { version: string }
    const builtModule = (await import(`${dist}opentelemetry.js`)) as {
      tokenwardTelemetry: typeof tokenwardTelemetry
    }
    const local = new InMemorySpanExporter()
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(local)] })
    trace.setGlobalTracerProvider(provider)
    try {
      builtModule.tokenwardTelemetry()({ type: 'rejected', code: 'missing_token', durationMs: 1 })
      expect(local.getFinishedSpans()[0]!.instrumentationScope).toMatchObject({
        name: '@tokenward/core',
        version,
      })
    } finally {
      trace.disable()
      await provider.shutdown()
    }
  })

  it('@tokenward/core alone never loads @opentelemetry/api (ESM and CommonJS)', () => {
    // ESM: a resolve hook that fails the import of any @opentelemetry package.
    const hook = `export async function resolve(specifier, context, next) {
      if (specifier.startsWith('@opentelemetry/')) throw new Error('loaded ' + specifier)
      return next(specifier, context)
    }`
    const register = `import { register } from 'node:module'; register(${JSON.stringify(
      `data:text/javascript,${encodeURIComponent(hook)}`,
    )})`
    const importing = (file: string) =>
      spawnSync(
        process.execPath,
        [
          '--import',
          `data:text/javascript,${encodeURIComponent(register)}`,
          '--input-type=module',
          '-e',
          `await import(${JSON.stringify(`${dist}${file}`)}); console.log('ok')`,
        ],
        { encoding: 'utf8' },
      )
    const esm = importing('index.js')
    expect(esm.stderr).toBe('')
    expect(esm.stdout).toBe('ok\n')

    const cjs = spawnSync(
      process.execPath,
      [
        '-e',
        `require(${JSON.stringify(`${dist}index.cjs`)});
         console.log(Object.keys(require.cache).filter((file) => file.includes('@opentelemetry')).length)`,
      ],
      { encoding: 'utf8' },
    )
    expect(cjs.stderr).toBe('')
    expect(cjs.stdout).toBe('0\n')

    // And the hook does catch the subpath, which does load it.
    const subpath = importing('opentelemetry.js')
    expect(subpath.stderr).toContain('loaded @opentelemetry/api')
  })
})
