// Moved to packages/core/test/support/listen.ts; this re-export keeps test/support/issuer.ts
// working until its import points there.
export { listen, type Listening } from '../../packages/core/test/support/listen.js'
