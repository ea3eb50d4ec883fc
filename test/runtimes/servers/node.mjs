/* global process, console */
// Node: `node node.mjs '<config json>'`. Prints `LISTENING <port>`; stops when stdin closes.
import { serve } from '@hono/node-server'
import { createHandler } from './app.mjs'

const handler = createHandler(JSON.parse(process.argv[2]))
serve({ fetch: handler, port: 0, hostname: '127.0.0.1' }, (info) => {
  console.log(`LISTENING ${info.port}`)
})
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
