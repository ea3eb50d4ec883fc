// Cloudflare Workers (workerd): bundled by the test with esbuild, as wrangler bundles a Worker.
// The configuration comes in the CONFIG text binding; the handler (and its validators, with
// their caches) is made on the first request and lives as long as the isolate.
import { createHandler } from './app.mjs'

let handler

export default {
  fetch(request, env, ctx) {
    handler ??= createHandler(JSON.parse(env.CONFIG))
    return handler(request, env, ctx)
  },
}
