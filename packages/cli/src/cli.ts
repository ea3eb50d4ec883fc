import { main } from './main.js'

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of process.stdin) {
    const buffer = chunk as Buffer
    size += buffer.length
    // A token is at most a few KiB; stop reading garbage early.
    if (size > 1024 * 1024) break
    chunks.push(buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readStdin,
  colour: process.stdout.isTTY && process.env.NO_COLOR === undefined,
  env: process.env,
}).then(
  (status) => {
    process.exitCode = status
  },
  (error: unknown) => {
    process.stderr.write(`tokenward: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exitCode = 2
  },
)
