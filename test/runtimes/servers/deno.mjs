/* global Deno, console */
// Deno: `deno run --allow-net=127.0.0.1 --allow-read deno.mjs '<config json>'`. Prints
// `LISTENING <port>`; stops when stdin closes.
import { createHandler } from './app.mjs'

Deno.serve(
  {
    port: 0,
    hostname: '127.0.0.1',
    onListen: ({ port }) => console.log(`LISTENING ${port}`),
  },
  createHandler(JSON.parse(Deno.args[0])),
)
const stdin = Deno.stdin.readable.getReader()
while (!(await stdin.read()).done) {
  // only waiting for the end of stdin
}
Deno.exit(0)
