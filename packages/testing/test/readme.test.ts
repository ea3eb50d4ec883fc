// The README's two examples. The Vitest one is test/readme-vitest.test.ts, word for word (this
// checks they have not drifted apart). The Jest one runs with Jest 30 in its ESM mode, as the
// README says, against the built packages: copied into a gitignored .tmp folder whose
// node_modules link @tokenward/testing, @tokenward/express and express. Without a build
// (`pnpm test` builds first) it is skipped.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const packageDir = fileURLToPath(new URL('..', import.meta.url))
const packagesDir = dirname(packageDir)
const readme = readFileSync(join(packageDir, 'README.md'), 'utf8')
const require = createRequire(import.meta.url)
const built = ['core', 'express', 'testing'].every((name) =>
  existsSync(join(packagesDir, name, 'dist/index.js')),
)

/** The first code block of `language` after the heading `heading`. */
function example(heading: string, language: string): string {
  const start = readme.indexOf(`\n${heading}\n`)
  if (start < 0) throw new Error(`README.md has no "${heading}"`)
  const match = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(readme.slice(start))
  if (match?.[1] === undefined)
    throw new Error(`README.md has no ${language} block under ${heading}`)
  return match[1]
}

describe('README', () => {
  it('shows test/readme-vitest.test.ts as its Vitest example', () => {
    const file = readFileSync(join(packageDir, 'test/readme-vitest.test.ts'), 'utf8')
    expect(example('## Vitest', 'ts')).toBe(file)
  })

  it('tells Jest users the command that runs the example', () => {
    expect(example('## Jest', 'sh')).toBe('NODE_OPTIONS=--experimental-vm-modules npx jest\n')
  })
})

describe.skipIf(!built)('README Jest example, run by Jest', () => {
  const dir = join(packageDir, '.tmp/jest-example')

  afterAll(() => {
    // Linters do not read .gitignore: leave no copy behind.
    rmSync(join(packageDir, '.tmp'), { recursive: true, force: true })
  })

  it('passes both tests', async () => {
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(join(dir, 'node_modules/@tokenward'), { recursive: true })
    writeFileSync(join(dir, 'package.json'), '{ "private": true, "type": "module" }\n')
    writeFileSync(join(dir, 'api.test.js'), example('## Jest', 'js'))
    symlinkSync(packageDir, join(dir, 'node_modules/@tokenward/testing'), 'dir')
    symlinkSync(join(packagesDir, 'express'), join(dir, 'node_modules/@tokenward/express'), 'dir')
    const express = dirname(require.resolve('express/package.json'))
    symlinkSync(express, join(dir, 'node_modules/express'), 'dir')
    const jest = join(dirname(require.resolve('jest/package.json')), 'bin/jest.js')

    const child = spawn(process.execPath, [jest, '--ci', '--no-watchman', '--rootDir', dir], {
      cwd: dir,
      env: { PATH: process.env.PATH, NODE_OPTIONS: '--experimental-vm-modules' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const timer = setTimeout(() => child.kill(), 50_000)
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    clearTimeout(timer)

    expect(output).toMatch(/Tests: +2 passed, 2 total/)
    expect(code, output).toBe(0)
  }, 60_000)
})
