// Koa and @koa/router for the cross-adapter tests in the root test/adapters: they are
// devDependencies of this package, not of the root, so those tests import them from here.
import { createRequire } from 'node:module'
import Router from '@koa/router'
import Koa from 'koa'

const require = createRequire(import.meta.url)

/** Koa 2 (the `koa2` alias), typed with Koa 3's types: the tests use their common API. */
export const Koa2 = require('koa2') as typeof Koa

export { Koa, Router }
