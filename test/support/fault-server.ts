// Moved to packages/core/test/support/fault-server.ts; this re-export keeps test/cli working
// until its import points there.
export { refusedUrl } from '../../packages/core/test/support/fault-server.js'
