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
  RequireAuth,
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
  NestFactory,
  UseGuards,
  VersioningType,
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

@Controller('step-up')
class StepUpController {
  @Get('mfa')
  @RequireAuth({ acr: ['urn:mfa', 'urn:hwk'], maxAge: 300 })
  mfa(@Auth() auth: AuthResult) {
    return echo(auth)
  }
}

@Module({ controllers: [StepUpController] })
// eslint-disable-next-line @typescript-eslint/no-extraneous-class -- a Nest module is a decorated class
class StepUpModule {}

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

  describe('step-up with @RequireAuth({ acr, maxAge }) (RFC 9470 §3)', () => {
    let url: string
    beforeAll(async () => {
      const tokenward = TokenwardModule.forRoot(testValidatorOptions(issuer))
      url = (await started(moduleOf([tokenward], echo, { imports: [StepUpModule] }))).url
    })

    it('accepts a recent login with an accepted acr', async () => {
      const now = Math.floor(Date.now() / 1000)
      const token = await mintToken(issuer, {}, { claims: { acr: 'urn:hwk', auth_time: now } })
      expect((await get(`${url}/step-up/mfa`, `Bearer ${token}`)).status).toBe(200)
    })

    it('answers another acr with 401 insufficient_user_authentication and what to ask for', async () => {
      const now = Math.floor(Date.now() / 1000)
      const token = await mintToken(issuer, {}, { claims: { acr: 'urn:pwd', auth_time: now } })
      expect(await summary(`${url}/step-up/mfa`, `Bearer ${token}`)).toEqual({
        status: 401,
        challenge:
          'Bearer realm="api", error="insufficient_user_authentication", error_description="A different authentication level is required: acr \'urn:pwd\' is not one of the accepted values", acr_values="urn:mfa urn:hwk", max_age="300"',
        body: {
          error: 'insufficient_user_authentication',
          error_description:
            "A different authentication level is required: acr 'urn:pwd' is not one of the accepted values",
          code: 'insufficient_user_authentication',
        },
      })
    })
  })

  describe('protected resource metadata (RFC 9728 §3)', () => {
    const RESOURCE = 'https://api.tokenward.test/orders'
    const WELL_KNOWN = '/.well-known/oauth-protected-resource'
    let url: string
    beforeAll(async () => {
      const tokenward = TokenwardModule.forRoot(
        testValidatorOptions(issuer, {
          resource: { id: RESOURCE, metadata: { scopes_supported: ['read', 'write'] } },
          dpop: { algorithms: ['ES256', 'PS256'] },
        }),
      )
      url = (await started(moduleOf([tokenward], echo))).url
    })

    it('serves the document at the path-suffixed well-known URL (§3.1), without a token', async () => {
      const answer = await get(`${url}${WELL_KNOWN}/orders?ignored=1`)
      expect(answer.status).toBe(200)
      expect(answer.headers['content-type']).toBe('application/json; charset=utf-8')
      expect(answer.headers['cache-control']).toBe('max-age=300')
      expect(answer.body).toEqual({
        resource: RESOURCE,
        authorization_servers: [issuer.issuer],
        bearer_methods_supported: ['header'],
        dpop_signing_alg_values_supported: ['ES256', 'PS256'],
        dpop_bound_access_tokens_required: false,
        scopes_supported: ['read', 'write'],
      })
    })

    it('answers HEAD with the headers alone', async () => {
      const response = await fetch(`${url}${WELL_KNOWN}/orders`, { method: 'HEAD' })
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8')
      expect(await response.text()).toBe('')
    })

    it.each([
      ['the bare well-known path (another resource’s, §3.1)', WELL_KNOWN],
      ['another resource path', `${WELL_KNOWN}/invoices`],
      ['a longer path', `${WELL_KNOWN}/orders/1`],
    ])('is a 404 at %s', async (_, path) => {
      const answer = await get(`${url}${path}`)
      expect(answer.status).toBe(404)
      expect(answer.headers['www-authenticate']).toBeUndefined()
    })

    it('names the document in every 401 challenge (§5.1)', async () => {
      const metadata = `https://api.tokenward.test${WELL_KNOWN}/orders`
      expect(await summary(`${url}/me`)).toEqual({
        ...MISSING,
        challenge: `Bearer realm="api", resource_metadata="${metadata}"`,
      })
      const bad = await summary(`${url}/me`, 'Bearer not-a-token')
      expect(bad.status).toBe(401)
      expect(bad.challenge).toBe(
        `Bearer realm="api", resource_metadata="${metadata}", error="invalid_token", error_description="The token is not active"`,
      )
      expect((await get(`${url}/me`, `Bearer ${admin}`)).status).toBe(200)
    })

    it('with forRootAsync, serves a resource at the host root at the bare path', async () => {
      const tokenward = TokenwardModule.forRootAsync({
        useFactory: () =>
          testValidatorOptions(issuer, { resource: { id: 'https://api.tokenward.test' } }),
      })
      const root = (await started(moduleOf([tokenward], echo))).url
      const answer = await get(`${root}${WELL_KNOWN}`)
      expect(answer.status).toBe(200)
      expect(answer.body).toMatchObject({
        resource: 'https://api.tokenward.test',
        authorization_servers: [issuer.issuer],
      })
      expect((await get(`${root}${WELL_KNOWN}/orders`)).status).toBe(404)
    })

    it('stays at the URL the resource id gives under a global prefix and URI versioning', async () => {
      const tokenward = TokenwardModule.forRoot(
        testValidatorOptions(issuer, { resource: { id: RESOURCE } }),
      )
      const app = await startModule(platform, moduleOf([tokenward], echo), (nest) => {
        nest.setGlobalPrefix('v1')
        nest.enableVersioning({ type: VersioningType.URI })
      })
      closing.push(app.close)
      const answer = await get(`${app.url}${WELL_KNOWN}/orders`)
      expect(answer.status).toBe(200)
      expect(answer.body).toMatchObject({ resource: RESOURCE })
      expect((await get(`${app.url}/v1${WELL_KNOWN}/orders`)).status).toBe(404)
      expect((await summary(`${app.url}/v1/me`)).status).toBe(401)
    })

    it('is left to the application with protectedResourceMetadata: false', async () => {
      const tokenward = TokenwardModule.forRoot(
        testValidatorOptions(issuer, { resource: { id: RESOURCE } }),
        { protectedResourceMetadata: false },
      )
      const off = (await started(moduleOf([tokenward], echo))).url
      expect((await get(`${off}${WELL_KNOWN}/orders`)).status).toBe(404)
    })

    it('is a 404 without the resource option', async () => {
      const plain = (
        await started(moduleOf([TokenwardModule.forRoot(testValidatorOptions(issuer))], echo))
      ).url
      expect((await get(`${plain}${WELL_KNOWN}`)).status).toBe(404)
      expect(await summary(`${plain}/me`)).toEqual(MISSING)
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

it('an application context without HTTP starts with the resource option (no adapter to serve on)', async () => {
  const context = await NestFactory.createApplicationContext(
    moduleOf(
      [
        TokenwardModule.forRoot(
          testValidatorOptions(issuer, { resource: { id: 'https://api.tokenward.test' } }),
        ),
      ],
      echo,
    ),
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- Nest types its options as a class
    { logger: false },
  )
  expect(context.get<Validator>(TOKENWARD_VALIDATOR).protectedResource?.()).toMatchObject({
    path: '/.well-known/oauth-protected-resource',
  })
  await context.close()
})

it('forRoot throws the ConfigurationError of a bad option at once', () => {
  expect(() => TokenwardModule.forRoot({ issuer: 'not a url', audience: 'api' })).toThrow(
    ConfigurationError,
  )
})
