// @tokenward/nestjs on Nest's Express and Fastify platforms, through real HTTP (the shared smoke
// checks): TokenwardModule.forRoot's global guard, @Roles('admin') on /admin, @Auth() on both.
import { describeSmoke } from '../../core/test/support/smoke.js'
import { startNest } from './app.js'

for (const platform of ['express', 'fastify'] as const) {
  describeSmoke(`NestJS on ${platform}`, (validator) =>
    startNest(platform, validator, (auth) => ({ auth })),
  )
}
