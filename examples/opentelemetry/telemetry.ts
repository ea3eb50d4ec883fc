// OpenTelemetry for this example: spans and metrics printed to the console (an application
// would send them to a collector with an OTLP exporter instead). server.ts imports this file
// first, so the HTTP instrumentation is in place before Express loads node:http.
import { metrics } from '@opentelemetry/api'
import { registerInstrumentations } from '@opentelemetry/instrumentation'
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  ConsoleMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics'
import {
  ConsoleSpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-node'

const resource = resourceFromAttributes({ 'service.name': 'tokenward-example' })

const tracerProvider = new NodeTracerProvider({
  resource,
  // Each span as soon as it ends; an application would batch (BatchSpanProcessor).
  spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())],
})
// The global tracer, and the context manager that keeps the request's span active across await.
tracerProvider.register()

const meterProvider = new MeterProvider({
  resource,
  readers: [
    new PeriodicExportingMetricReader({
      exporter: new ConsoleMetricExporter(),
      exportIntervalMillis: Number(process.env.METRICS_INTERVAL_MS ?? 60_000),
    }),
  ],
})
metrics.setGlobalMeterProvider(meterProvider)

/** Local ports whose incoming requests get no span: the example's own issuer, when it starts one. */
export const untracedPorts = new Set<number>()

registerInstrumentations({
  instrumentations: [
    // The HTTP server span of each request: tokenward's span becomes its child.
    new HttpInstrumentation({
      ignoreIncomingRequestHook: (request) => untracedPorts.has(request.socket.localPort ?? 0),
    }),
  ],
})

/** Ends the last spans and prints the metrics one last time. */
export async function shutdownTelemetry(): Promise<void> {
  await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()])
}
