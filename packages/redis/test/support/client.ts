// ioredis for the root test/redis: it is a dependency of this package, not of the root, so those
// tests import it from here (this file resolves it).
export { Redis } from 'ioredis'
