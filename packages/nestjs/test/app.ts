// The cross-adapter test API as a NestJS app, on Nest's Express or Fastify platform, for the
// root test/adapters: Nest's packages are devDependencies of this package, and its decorators
// compile with this package's tsconfig (experimentalDecorators). Nothing here relies on
// decorator metadata: every injection names its token.
import type { AddressInfo } from 'node:net'
import {
  Catch,
  Controller,
  Get,
  Inject,
  Module,
  type ArgumentsHost,
  type ExceptionFilter,
  type INestApplication,
  type Provider,
  type Type,
} from '@nestjs/common'
import { APP_FILTER, HttpAdapterHost, NestFactory } from '@nestjs/core'
import { ExpressAdapter } from '@nestjs/platform-express'
import { FastifyAdapter } from '@nestjs/platform-fastify'
import {
  toHttpResponse,
  type AuthResult,
  type Validator,
  type ValidatorOptions,
} from '@tokenward/core'
import {
  Auth,
  RequireAuth,
  Roles,
  Scopes,
  TokenwardException,
  TokenwardModule,
} from '@tokenward/nestjs'

export type Platform = 'express' | 'fastify'
export type Echo = (auth: AuthResult | undefined) => unknown

const ORG = '170086363054473473'
const ECHO = Symbol('echo')

@Controller()
class ApiController {
  readonly #echo: Echo
  constructor(@Inject(ECHO) echo: Echo) {
    this.#echo = echo
  }

  @Get('me')
  me(@Auth() auth: AuthResult | undefined) {
    return this.#echo(auth)
  }

  @Get('admin')
  @Roles('admin')
  admin(@Auth() auth: AuthResult) {
    return this.#echo(auth)
  }

  @Get('admin-in-org')
  @Roles('admin', { org: ORG })
  adminInOrg(@Auth() auth: AuthResult) {
    return this.#echo(auth)
  }

  @Get('admin-and-editor')
  @Roles('admin', 'editor')
  adminAndEditor(@Auth() auth: AuthResult) {
    return this.#echo(auth)
  }

  @Get('write')
  @Scopes('write')
  write(@Auth() auth: AuthResult) {
    return this.#echo(auth)
  }

  @Get('editor-or-admin')
  @RequireAuth({ roles: { anyOf: ['editor', 'admin'] } })
  editorOrAdmin(@Auth() auth: AuthResult) {
    return this.#echo(auth)
  }
}

/** An application's own filter: renders every error itself, and says so (`x-rendered-by`). */
@Catch()
class RenderingFilter implements ExceptionFilter {
  readonly #host: HttpAdapterHost
  constructor(@Inject(HttpAdapterHost) host: HttpAdapterHost) {
    this.#host = host
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const error = exception instanceof TokenwardException ? exception.cause : exception
    const { status, headers, body } = toHttpResponse(error)
    const { httpAdapter } = this.#host
    const response: unknown = host.switchToHttp().getResponse()
    for (const [name, value] of Object.entries({ ...headers, 'x-rendered-by': 'app' })) {
      httpAdapter.setHeader(response, name, value)
    }
    httpAdapter.reply(response, body, status)
  }
}

export interface NestAppOptions {
  optional?: boolean
  /** Errors go to the application's own exception filter (`x-rendered-by: app`). */
  passErrors?: boolean
  /** More modules (controllers of a test). */
  imports?: unknown[]
}

/** Starts the API on 127.0.0.1:0; `close()` closes the Nest app (and a validator it created). */
export async function startNest(
  platform: Platform,
  source: ValidatorOptions | Validator,
  echo: Echo,
  options: NestAppOptions = {},
): Promise<{ url: string; app: INestApplication; close(): Promise<void> }> {
  return startModule(
    platform,
    moduleOf(
      [TokenwardModule.forRoot(source, { optional: options.optional === true })],
      echo,
      options,
    ),
  )
}

/** A root module with these imports, the API controller and, with passErrors, the filter. */
export function moduleOf(imports: unknown[], echo: Echo, options: NestAppOptions = {}): Type {
  const providers: Provider[] = [{ provide: ECHO, useValue: echo }]
  if (options.passErrors === true)
    providers.push({ provide: APP_FILTER, useClass: RenderingFilter })
  @Module({
    imports: [...imports, ...(options.imports ?? [])] as never[],
    controllers: [ApiController],
    providers,
  })
  // eslint-disable-next-line @typescript-eslint/no-extraneous-class -- a Nest module is a decorated class
  class AppModule {}
  return AppModule
}

/** Starts `module` on 127.0.0.1:0; `configure` sees the app before it listens (a global prefix). */
export async function startModule(
  platform: Platform,
  module: Type,
  configure?: (app: INestApplication) => void,
) {
  const adapter = platform === 'express' ? new ExpressAdapter() : new FastifyAdapter()
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- Nest types its options as a class
  const app = await NestFactory.create(module, adapter, { logger: false })
  configure?.(app)
  await app.listen(0, '127.0.0.1')
  const { port } = (app.getHttpServer() as { address(): AddressInfo }).address()
  return { url: `http://127.0.0.1:${port}`, app, close: () => app.close() }
}
