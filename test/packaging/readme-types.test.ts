// Every TypeScript block of the READMEs compiles under the repository's strict settings
// (`strict`, `noUncheckedIndexedAccess`, `exactOptionalPropertyTypes`), as a user's project
// would type-check it: each block is written to a gitignored .tmp folder as its own module and
// the TypeScript compiler runs over them, resolving `@tokenward/*` to the sources.
import { spawnSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** Frameworks the READMEs import, and the package whose node_modules has each. */
const DEPENDENCIES: readonly (readonly [string, string])[] = [
  ['express', 'express'],
  ['@types/express', 'express'],
  ['hono', 'hono'],
  ['ioredis', 'redis'],
  ['@nestjs/common', 'nestjs'],
  ['@nestjs/core', 'nestjs'],
  ['@nestjs/platform-express', 'nestjs'],
  ['@nestjs/platform-fastify', 'nestjs'],
  ['reflect-metadata', 'nestjs'],
  ['rxjs', 'nestjs'],
  ['@opentelemetry/api', 'core'],
]
const out = `${root}.tmp/readme-types/`

/**
 * The ```ts blocks of a README that are code a user would paste (they import something), each
 * with the line it starts on; a block without an import is a list of signatures, not code.
 */
function blocks(path: string): { line: number; code: string }[] {
  const text = readFileSync(`${root}${path}`, 'utf8')
  const found: { line: number; code: string }[] = []
  for (const match of text.matchAll(/```ts\n([\s\S]*?)```/g)) {
    const line = text.slice(0, match.index).split('\n').length + 1
    if (/^import /m.test(match[1]!)) found.push({ line, code: match[1]! })
  }
  return found
}

const readmes = [
  'README.md',
  ...readdirSync(`${root}packages`).map((name) => `packages/${name}/README.md`),
].filter((path) => {
  try {
    readFileSync(`${root}${path}`)
    return true
  } catch {
    return false
  }
})

describe('the READMEs’ TypeScript compiles under strict', () => {
  it('type-checks every ```ts block of every README', { timeout: 120_000 }, () => {
    rmSync(out, { recursive: true, force: true })
    mkdirSync(out, { recursive: true })
    const files: string[] = []
    for (const readme of readmes) {
      for (const { line, code } of blocks(readme)) {
        const name = `${readme.replace(/[/.]/g, '_')}_${line}.ts`
        // Each block is a module of its own (an export makes it one), as a user's file would be.
        writeFileSync(`${out}${name}`, `${code}\nexport {}\n`)
        files.push(name)
      }
    }
    expect(files.length).toBeGreaterThan(5)
    // What a user installs beside tokenward, linked from the package that depends on it.
    for (const [name, from] of DEPENDENCIES) {
      if (!existsSync(`${root}packages/${from}/node_modules/${name}`)) continue
      mkdirSync(dirname(`${out}node_modules/${name}`), { recursive: true })
      symlinkSync(`${root}packages/${from}/node_modules/${name}`, `${out}node_modules/${name}`)
    }
    writeFileSync(
      `${out}tsconfig.json`,
      JSON.stringify({
        extends: '../../tsconfig.base.json',
        compilerOptions: {
          noEmit: true,
          experimentalDecorators: true,
          noUnusedLocals: false,
          paths: {
            '@tokenward/core/opentelemetry': ['../../packages/core/src/opentelemetry.ts'],
            '@tokenward/*': ['../../packages/*/src/index.ts'],
          },
          types: ['node'],
          typeRoots: ['../../node_modules/@types'],
        },
        files,
      }),
    )
    const tsc = spawnSync(
      process.execPath,
      [`${root}node_modules/typescript/bin/tsc`, '-p', `${out}tsconfig.json`],
      { cwd: out, encoding: 'utf8' },
    )
    expect(tsc.stdout + tsc.stderr).toBe('')
    expect(tsc.status).toBe(0)
  })
})
