// Express for the cross-adapter tests in the root test/adapters: express is a devDependency of
// this package, not of the root, so those tests import it from here (this file resolves it).
import { createRequire } from 'node:module'
import express from 'express'

const require = createRequire(import.meta.url)

/** Express 4 (the `express4` alias), typed with Express 5's types: the tests use their common API. */
export const express4 = require('express4') as typeof express

export { express }
