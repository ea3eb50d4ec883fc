/**
 * The runtime the sources run on: the Node build's. The Web build (tsup.config.ts) resolves this
 * module to `web.ts` instead, so it holds no Node module; see `contract.ts`.
 */
export { runtime } from './node.js'
