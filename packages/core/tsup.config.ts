import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { defineConfig, type Options } from 'tsup'

const { version } = JSON.parse(readFileSync(new URL('package.json', import.meta.url), 'utf8')) as {
  version: string
}

// Two builds of the same sources (package.json `exports` picks one per runtime):
// - dist/index.{js,cjs}: the Node build (Node, Bun, Deno), on src/runtime/node.ts;
// - dist/web/index.{js,cjs}: the Web build (Workers, browsers, any other runtime), where
//   src/runtime/index.ts resolves to src/runtime/web.ts. Built for the browser platform, so an
//   import of a Node module anywhere in it fails the build.
// Both have the same API, so they share one set of declarations. dist/opentelemetry.* needs no
// runtime module: one build serves every runtime.
const webRuntime = fileURLToPath(new URL('./src/runtime/web.ts', import.meta.url))

const common: Options = {
  // The version of the OpenTelemetry instrumentation scope (src/opentelemetry.ts).
  define: { TOKENWARD_CORE_VERSION: JSON.stringify(version) },
  format: ['esm', 'cjs'],
  sourcemap: true,
}

export default defineConfig([
  {
    ...common,
    entry: ['src/index.ts', 'src/opentelemetry.ts'],
    dts: true,
    // dist/web is the other build's.
    clean: ['!web/**'],
    target: 'node20',
    platform: 'node',
  },
  {
    ...common,
    entry: { index: 'src/index.ts' },
    outDir: 'dist/web',
    clean: true,
    target: 'es2022',
    platform: 'browser',
    esbuildPlugins: [
      {
        name: 'tokenward-web-runtime',
        setup(build) {
          build.onResolve({ filter: /^\.\/runtime\/index\.js$/ }, () => ({ path: webRuntime }))
        },
      },
    ],
  },
])
