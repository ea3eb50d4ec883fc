// NestJS specifics over real HTTP on both platforms, with tokens from a real OpenID Provider:
// forRootAsync, the guard installed globally or per route, @Public, decorators on a controller
// and a method together, the injected validator and its lifetime. The conformance table
// (conformance.test.ts) covers the answers themselves.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  ConfigurationError,
  createValidator,
  type AuthResult,
  type Validator,
} from '@tokenward/core'
import {
  Auth,
  Public,
  Roles,
  Scopes,
  TOKENWARD_VALIDATOR,
  TokenwardGuard,
  TokenwardModule,
} from '@tokenward/nestjs'
import { moduleOf, startModule, type Platform } from '../../packages/nestjs/test/app.js'
import {
  Controller,
  Get,
  Inject,
  Module,
  UseGuards,
} from '../../packages/nestjs/test/frameworks.js'
import { startIssuer, type TestIssuer } from '../support/issuer.js'
import { ORG, echo, get, mintToken, testValidatorOptions } from './apps.js'

let issuer: TestIssuer
let admin: string
let adminReader: string
let editor: string
const closing: (() => Promise<void>)[] = []

beforeAll(async () => {
  issuer = await startIssuer()
  ;[admin, adminReader, editor] = await Promise.all([
    mintToken(issuer, { admin: { [ORG]: 'acme.example' } }),
    mintToken(
      issuer,
      { admin: { [ORG]: 'acme.example' }, reader: { [ORG]: 'acme.example' } },
      { scope: 'write' },
    ),
    mintToken(issuer, { editor: { [ORG]: 'acme.example' } }, { scope: 'write' }),
  ])
})

afterAll(async () => {
  for (const close of closing) await close()
  await issuer.close()
})

const MISSING = {
  status: 401,
  challenge: 'Bearer realm="api"',
  body: { error_description: 'No bearer token', code: 'missing_token' },
}

async function summary(url: string, authorization?: string) {
  const answer = await get(url, authorization)
  return { status: answer.status, challenge: answer.headers['www-authenticate'], body: answer.body }
}

@Module({
  providers: [{ provide: 'ISSUER_URL', useFactory: () => issuer.issuer }],
  exports: ['ISSUER_URL'],
})
// eslint-disable-next-line @typescript-eslint/no-extraneous-class -- a Nest module is a decorated class
class ConfigModule {}

@Controller('more')
@Roles('admin')
class MoreController {
  @Get('public')
  @Public()
  open(@Auth() auth: AuthResult | undefined) {
    return echo(auth)
  }

  @Get('admin-and-write')
  @Scopes('write')
  adminAndWrite(@Auth() auth: AuthResult) {
    return echo(auth)
  }

  @Get('admin-and-reader')
  @Roles('reader')
  adminAndReader(@Auth() auth: AuthResult) {
    return echo(auth)
  }
}

@Controller('manual')
class ManualController {
  readonly #validator: Validator
  constructor(@Inject(TOKENWARD_VALIDATOR) validator: Validator) {
    this.#validator = validator
  }

  @Get('open')
  open(@Auth() auth: AuthResult | undefined) {
    return echo(auth)
  }

  @Get('guarded')
  @UseGuards(TokenwardGuard)
  @Roles('admin')
  guarded(@Auth() auth: AuthResult) {
    return { ...echo(auth), injected: typeof this.#validator.authenticate }
  }
}

@Module({ controllers: [MoreController] })
// eslint-disable-next-line @typescript-eslint/no-extraneous-class -- a Nest module is a decorated class
class MoreModule {}

@Module({ controllers: [ManualController] })
// eslint-disable-next-line @typescript-eslint/no-extraneous-class -- a Nest module is a decorated class
class ManualModule {}

describe.each<Platform>(['express', 'fastify'])('nestjs on %s', (platform) => {
  async function started(module: Parameters<typeof startModule>[1]) {
    const app = await startModule(platform, module)
    closing.push(app.close)
    return app
  }

  describe('forRootAsync, global guard, decorators on controller and method', () => {
    let url: string
    beforeAll(async () => {
      const tokenward = TokenwardModule.forRootAsync({
        imports: [ConfigModule],
        inject: ['ISSUER_URL'],
        useFactory: async (issuerUrl: string) =>
          Promise.resolve({ ...testValidatorOptions(issuer), issuer: issuerUrl }),
      })
      url = (await started(moduleOf([tokenward], echo, { imports: [MoreModule] }))).url
    })

    it('options from the factory: the guard authenticates every route', async () => {
      expect(await summary(`${url}/me`)).toEqual(MISSING)
      const answer = await get(`${url}/me`, `Bearer ${admin}`)
      expect(answer.status).toBe(200)
      expect(answer.body).toMatchObject({ auth: { roles: { admin: [ORG] } } })
    })

    it('@Public() leaves a route alone, even with a malformed header', async () => {
      const answer = await get(`${url}/more/public`, 'Bearer a b')
      expect(answer.status).toBe(200)
      expect(answer.body).toEqual({ auth: null })
    })

    it('a controller @Roles and a method @Scopes are both required', async () => {
      expect((await get(`${url}/more/admin-and-write`, `Bearer ${adminReader}`)).status).toBe(200)
      const noWrite = await summary(`${url}/more/admin-and-write`, `Bearer ${admin}`)
      expect(noWrite.status).toBe(403)
      expect(noWrite.body).toMatchObject({ code: 'insufficient_scope' })
      const noAdmin = await summary(`${url}/more/admin-and-write`, `Bearer ${editor}`)
      expect(noAdmin.status).toBe(403)
      expect(noAdmin.body).toMatchObject({ code: 'insufficient_role' })
    })

    it('@Roles on the controller and on the method: both roles', async () => {
      expect((await get(`${url}/more/admin-and-reader`, `Bearer ${adminReader}`)).status).toBe(200)
      const answer = await summary(`${url}/more/admin-and-reader`, `Bearer ${admin}`)
      expect(answer.status).toBe(403)
      expect(answer.body).toMatchObject({ code: 'insufficient_role' })
    })
  })

  describe('globalGuard: false', () => {
    let url: string
    beforeAll(async () => {
      const tokenward = TokenwardModule.forRoot(testValidatorOptions(issuer), {
        globalGuard: false,
      })
      url = (await started(moduleOf([tokenward], echo, { imports: [ManualModule] }))).url
    })

    it('routes without @UseGuards(TokenwardGuard) are left alone', async () => {
      const answer = await get(`${url}/manual/open`, 'Bearer a b')
      expect(answer.status).toBe(200)
      expect(answer.body).toEqual({ auth: null })
    })

    it('@UseGuards(TokenwardGuard) authenticates and checks @Roles; the validator is injectable', async () => {
      expect(await summary(`${url}/manual/guarded`)).toEqual(MISSING)
      expect((await get(`${url}/manual/guarded`, `Bearer ${editor}`)).status).toBe(403)
      const answer = await get(`${url}/manual/guarded`, `Bearer ${admin}`)
      expect(answer.status).toBe(200)
      expect(answer.body).toMatchObject({ auth: { roles: { admin: [ORG] } }, injected: 'function' })
    })
  })

  it('closes a validator it created when the app closes, and leaves a given one open', async () => {
    const created = await startModule(
      platform,
      moduleOf([TokenwardModule.forRoot(testValidatorOptions(issuer))], echo),
    )
    const own = created.app.get<Validator>(TOKENWARD_VALIDATOR)
    const closeOwn = vi.spyOn(own, 'close')
    await created.close()
    expect(closeOwn).toHaveBeenCalledTimes(1)

    const given = createValidator(testValidatorOptions(issuer))
    const closeGiven = vi.spyOn(given, 'close')
    const app = await startModule(platform, moduleOf([TokenwardModule.forRoot(given)], echo))
    expect(app.app.get(TOKENWARD_VALIDATOR)).toBe(given)
    await app.close()
    expect(closeGiven).not.toHaveBeenCalled()
    await given.close()
  })
})

it('forRoot throws the ConfigurationError of a bad option at once', () => {
  expect(() => TokenwardModule.forRoot({ issuer: 'not a url', audience: 'api' })).toThrow(
    ConfigurationError,
  )
})
