import { readFileSync } from 'node:fs'
import { defineConfig } from 'tsup'

const { version } = JSON.parse(readFileSync(new URL('package.json', import.meta.url), 'utf8')) as {
  version: string
}

export default defineConfig({
  entry: ['src/index.ts', 'src/opentelemetry.ts'],
  // The version of the OpenTelemetry instrumentation scope (src/opentelemetry.ts).
  define: { TOKENWARD_CORE_VERSION: JSON.stringify(version) },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  platform: 'node',
})
