// Runs `tokenward` in process (its sources, through the vitest alias) or as the built binary.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { main } from '@tokenward/cli'

export interface Run {
  readonly status: number | null
  readonly out: string
  readonly err: string
}

/** `main(args)` with standard input `stdin`, no colour and an empty environment. */
export async function run(args: readonly string[], stdin = ''): Promise<Run> {
  let out = ''
  let err = ''
  const status = await main(args, {
    stdout: (text) => (out += text),
    stderr: (text) => (err += text),
    readStdin: () => Promise.resolve(stdin),
    colour: false,
    env: {},
  })
  return { status, out, err }
}

/** The built `tokenward` binary (packages/cli/dist/cli.js); `pnpm build` makes it. */
export const binary = fileURLToPath(new URL('../../packages/cli/dist/cli.js', import.meta.url))

/** `node dist/cli.js ...args` with `stdin` on standard input. */
export async function runBinary(args: readonly string[], stdin = ''): Promise<Run> {
  if (!existsSync(binary))
    throw new Error(`${binary} is missing: build the packages first (pnpm build)`)
  const child = spawn(process.execPath, [binary, ...args], {
    env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' },
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
  child.stdin.end(stdin)
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve))
  return { status, out, err }
}
