// Hono and its Node server for the cross-adapter tests in the root test/adapters: they are
// devDependencies of this package, so those tests import them from here.
export { Hono } from 'hono'
export type { Context } from 'hono'
export { getRequestListener } from '@hono/node-server'
