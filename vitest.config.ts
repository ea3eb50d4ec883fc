import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// Tests run against the sources; test/packaging/install.test.ts checks the packed packages.
const packages = ['core', 'express', 'koa', 'fastify', 'hono', 'nestjs', 'redis', 'cli', 'testing']
const alias = packages
  .map((name) => ({
    find: `@tokenward/${name}`,
    replacement: fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url)),
  }))
  .filter(({ replacement }) => existsSync(replacement))

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Integration tests start real servers on 127.0.0.1; two cores gain nothing from more forks.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
})
