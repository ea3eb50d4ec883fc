// The Web build of @tokenward/core (packages/core/dist/web, `pnpm build`): it imports no Node
// module and uses no Node global, the exports conditions give it to the runtimes that need it
// (and the Node build to Node, Bun and Deno), and workerd without nodejs_compat, which serves it
// in the runtime matrix, really cannot load the Node build.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'
import { RUNTIMES, serveWorker } from './runtimes.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const core = join(root, 'packages/core')
const WEB = ['dist/web/index.js', 'dist/web/index.cjs']
const NODE = ['dist/index.js', 'dist/index.cjs']
const built = [...WEB, ...NODE].every((file) => existsSync(join(core, file)))
const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false'

/** Every module a built file imports or requires (static, dynamic, side effect only). */
function specifiers(file: string): string[] {
  const text = readFileSync(join(core, file), 'utf8')
  const found = new Set<string>()
  const patterns = [
    /\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    /\brequire\s*\(\s*["']([^"']+)["']\s*\)/g,
  ]
  for (const pattern of patterns) for (const match of text.matchAll(pattern)) found.add(match[1]!)
  return [...found].sort()
}

const isBuiltin = (name: string) => name.startsWith('node:') || builtinModules.includes(name)

describe.runIf(built)('the Web build', () => {
  it.each(WEB)('%s imports jose and lru-cache only: no Node module', (file) => {
    const imported = specifiers(file)
    expect(imported.filter(isBuiltin)).toEqual([])
    expect(imported).toEqual(['jose', 'lru-cache'])
  })

  it.each(WEB)('%s names no Node module or Node global', (file) => {
    const text = readFileSync(join(core, file), 'utf8')
    expect(text).not.toMatch(/node:/)
    expect(text).not.toMatch(/\bBuffer\b/)
    expect(text).not.toMatch(/\bprocess\b/)
    expect(text).not.toMatch(/\b(?:readFileSync|createHash|createHmac|KeyObject)\b/)
  })

  it.each(NODE)(
    '%s: the Node build imports crypto, fs, http and https as Node 20 spells them',
    (file) => {
      expect(specifiers(file).filter(isBuiltin).sort()).toEqual(['crypto', 'fs', 'http', 'https'])
    },
  )

  it.each(['dist/opentelemetry.js', 'dist/opentelemetry.cjs'])(
    '%s (one build for every runtime) and its chunks import no Node module',
    (file) => {
      const files = [file]
      const imported = new Set<string>()
      for (const next of files) {
        for (const name of specifiers(next)) {
          if (name.startsWith('./')) files.push(join('dist', name))
          else imported.add(name)
        }
      }
      expect([...imported]).toEqual(['@opentelemetry/api'])
    },
  )
})

/** The file esbuild resolves `@tokenward/core` to under `conditions` (as `kind` imports it). */
async function resolvedFile(conditions: string[], kind: 'import' | 'require'): Promise<string> {
  const result = await build({
    stdin: {
      contents: kind === 'import' ? "import '@tokenward/core'" : "require('@tokenward/core')",
      // @tokenward/hono depends on the core: its node_modules links it, as a user's would.
      resolveDir: join(root, 'packages/hono'),
    },
    bundle: true,
    write: false,
    metafile: true,
    platform: 'neutral',
    format: kind === 'import' ? 'esm' : 'cjs',
    conditions,
    external: ['jose', 'lru-cache', 'node:*', ...builtinModules],
    logLevel: 'silent',
  })
  // The entry file (the Node build's ESM file shares a chunk with the OpenTelemetry entry).
  const inputs = Object.keys(result.metafile.inputs).filter((input) =>
    /dist\/(web\/)?index\.c?js$/.test(input),
  )
  expect(inputs).toHaveLength(1)
  return inputs[0]!.slice(inputs[0]!.indexOf('dist/'))
}

describe.runIf(built)('the exports conditions', () => {
  it.each([
    [['workerd', 'worker', 'browser'], 'web'],
    [['worker'], 'web'],
    [['browser'], 'web'],
    [['edge-light', 'worker', 'browser'], 'web'],
    [[], 'web'],
    [['bun'], 'node'],
    [['deno'], 'node'],
    [['node'], 'node'],
    [['bun', 'node'], 'node'],
  ] as const)('%j: the %s build', async (conditions, expected) => {
    const dir = expected === 'web' ? 'dist/web/' : 'dist/'
    expect(await resolvedFile([...conditions], 'import')).toBe(`${dir}index.js`)
    expect(await resolvedFile([...conditions], 'require')).toBe(`${dir}index.cjs`)
  })
})

const noCompat = RUNTIMES.find((runtime) => runtime.name === 'workerd (no nodejs_compat)')!
const workerdProblem = noCompat.unavailable()

describe.runIf(built)('workerd without nodejs_compat', () => {
  /** A worker answering `typeof createValidator`, bundled with `conditions`, in a new folder. */
  async function bundledWorker(conditions: string[]): Promise<string> {
    const dir = mkdtempSync(join(tmpdir(), 'tokenward-workerd-control-'))
    writeFileSync(
      join(dir, 'entry.mjs'),
      `import { createValidator } from '@tokenward/core'
export default { fetch: () => new Response(typeof createValidator) }
`,
    )
    await build({
      entryPoints: [join(dir, 'entry.mjs')],
      outfile: join(dir, 'worker.js'),
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      conditions,
      nodePaths: [join(root, 'packages/hono/node_modules')],
      mainFields: ['browser', 'module', 'main'],
      external: ['node:*', ...builtinModules],
      logLevel: 'silent',
    })
    return dir
  }

  it.skipIf(workerdProblem !== undefined && !inCi)(
    'cannot start the Node build (no Node module), and serves the Web build',
    async () => {
      await expect(
        serveWorker(await bundledWorker(['node']), 'workerd, Node build', {}, false),
      ).rejects.toThrow(/did not start[\s\S]*No such module "(node:)?\w+"/)
      const server = await serveWorker(
        await bundledWorker(['workerd', 'worker', 'browser']),
        'workerd, Web build',
        {},
        false,
      )
      try {
        expect(await (await fetch(server.url)).text()).toBe('function')
      } finally {
        server.close()
      }
    },
    60_000,
  )
})
