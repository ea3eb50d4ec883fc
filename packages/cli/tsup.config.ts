import { defineConfig } from 'tsup'

export default defineConfig([
  {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    // `version()` reads ../package.json from import.meta.url, which CommonJS has no equivalent of.
    shims: true,
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
    platform: 'node',
  },
  {
    entry: ['src/cli.ts'],
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    banner: { js: '#!/usr/bin/env node' },
  },
])
