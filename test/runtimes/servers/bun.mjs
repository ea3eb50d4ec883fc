/* global Bun, process, console */
// Bun: `bun bun.mjs '<config json>'`. Prints `LISTENING <port>`; stops when stdin closes.
import { createHandler } from './app.mjs'

const server = Bun.serve({
  fetch: createHandler(JSON.parse(process.argv[2])),
  port: 0,
  hostname: '127.0.0.1',
})
console.log(`LISTENING ${server.port}`)
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
