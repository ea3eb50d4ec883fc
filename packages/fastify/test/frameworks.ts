// Fastify for the cross-adapter tests in the root test/adapters: fastify is a devDependency of
// this package, not of the root, so those tests import it from here.
export { fastify } from 'fastify'
export type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
