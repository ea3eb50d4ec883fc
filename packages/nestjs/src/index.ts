/**
 * @tokenward/nestjs: a NestJS module, guard and decorators over `@tokenward/core`, on Nest's
 * Express and Fastify platforms. The guard reads every `Authorization` value, asks the core, sets
 * `request.auth` and answers the core's errors; every decision is the core's.
 *
 * @packageDocumentation
 */
import {
  Inject,
  Injectable,
  Module,
  SetMetadata,
  HttpException,
  createParamDecorator,
  type CanActivate,
  type DynamicModule,
  type ExecutionContext,
  type ModuleMetadata,
  type OnModuleDestroy,
  type OnModuleInit,
  type Provider,
} from '@nestjs/common'
import { APP_GUARD, HttpAdapterHost, Reflector } from '@nestjs/core'
import {
  adapterValidator,
  authenticateRequest,
  authorizationValues,
  nodeRequestContext,
  type NodeRequestLike,
  renderFailure,
  roleRequirements,
  type AuthResult,
  type ErrorBody,
  type Requirements,
  type RoleOptions,
  type Validator,
  type ValidatorOptions,
} from '@tokenward/core'

import { metadataHandler } from './metadata.js'
import type { TokenwardModuleAsyncOptions, TokenwardModuleOptions } from './options.js'

export type { TokenwardModuleAsyncOptions, TokenwardModuleOptions } from './options.js'

export type { RoleOptions } from '@tokenward/core'

/** Injection token of the module's `Validator` (`@Inject(TOKENWARD_VALIDATOR)`). */
export const TOKENWARD_VALIDATOR = Symbol.for('@tokenward/nestjs:validator')
const SETTINGS = Symbol.for('@tokenward/nestjs:settings')
// Symbol.for: the ESM and CJS builds of this package read each other's decorators.
const PUBLIC = Symbol.for('@tokenward/nestjs:public')
const REQUIREMENTS = Symbol.for('@tokenward/nestjs:requirements')

interface Settings {
  readonly validator: Validator
  readonly created: boolean
  readonly optional: boolean
  readonly metadata: boolean
}

/** The request of either platform: Express's, or Fastify's with the Node request in `raw`. */
interface PlatformRequest {
  auth?: AuthResult
  readonly rawHeaders?: readonly string[]
  readonly raw?: { readonly rawHeaders: readonly string[] }
  /** Express: the path and query as sent, whatever router the route is in. */
  readonly originalUrl?: string
  /** Fastify: the path and query as sent. */
  readonly url?: string
}

/**
 * The error a failed authentication throws: an `HttpException` whose response is the core's JSON
 * body and whose status is the core's. The guard has already set the core's headers
 * (`WWW-Authenticate`, `Cache-Control`, `Retry-After`) on the response; `headers` holds them for
 * an exception filter of yours, `cause` the core's error.
 */
export class TokenwardException extends HttpException {
  readonly headers: Readonly<Record<string, string>>
  readonly body: ErrorBody

  constructor(
    body: ErrorBody,
    status: number,
    headers: Readonly<Record<string, string>>,
    cause: unknown,
  ) {
    super(body, status, { cause })
    this.body = body
    this.headers = headers
  }
}

/**
 * Authenticates a request and checks the route's `@Roles`, `@Scopes` and `@RequireAuth`
 * (method and controller); `@Public()` routes are left alone. Global by default (see
 * {@link TokenwardModuleOptions.globalGuard}).
 */
@Injectable()
export class TokenwardGuard implements CanActivate {
  readonly #settings: Settings
  readonly #reflector: Reflector
  readonly #adapterHost: HttpAdapterHost

  constructor(
    @Inject(SETTINGS) settings: Settings,
    @Inject(Reflector) reflector: Reflector,
    @Inject(HttpAdapterHost) adapterHost: HttpAdapterHost,
  ) {
    this.#settings = settings
    this.#reflector = reflector
    this.#adapterHost = adapterHost
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') {
      throw new Error(`tokenward: TokenwardGuard protects HTTP routes, not ${context.getType()}`)
    }
    const targets = [context.getHandler(), context.getClass()]
    if (this.#reflector.getAllAndOverride<boolean | undefined>(PUBLIC, targets) === true) {
      return true
    }
    const requirements = this.#reflector
      .getAll<(readonly Requirements[] | undefined)[]>(REQUIREMENTS, targets)
      .flatMap((list) => list ?? [])
    const http = context.switchToHttp()
    const request = http.getRequest<PlatformRequest>()
    const response = http.getResponse<unknown>()
    const { validator, optional } = this.#settings
    const raw = request.rawHeaders ?? request.raw?.rawHeaders ?? []
    // Express gives the Node request itself; Fastify wraps it in `raw`.
    const node = (request.raw ?? request) as NodeRequestLike
    const url = request.originalUrl ?? request.url ?? '/'
    return authenticateRequest(
      validator,
      authorizationValues(raw),
      optional,
      (auth) => {
        if (auth !== undefined) request.auth = auth
        try {
          for (const requirement of requirements) validator.authorize(auth, requirement)
        } catch (error) {
          return this.#reject(error, response)
        }
        return true
      },
      (error) => this.#reject(error, response),
      nodeRequestContext(validator, node, url),
    )
  }

  /** Sets the core's headers on the platform's response and throws the core's status and body. */
  #reject(error: unknown, response: unknown): never {
    const { status, headers, body } = renderFailure(this.#settings.validator, error)
    const { httpAdapter } = this.#adapterHost
    for (const [name, value] of Object.entries(headers))
      httpAdapter.setHeader(response, name, value)
    throw new TokenwardException(body, status, headers, error)
  }
}

/**
 * `TokenwardModule.forRoot({ issuer, audience })` (or a validator) in your root module: a global
 * module providing the validator (`TOKENWARD_VALIDATOR`) and `TokenwardGuard`, installed for every
 * route unless `globalGuard: false`. With the validator's `resource` option it serves the
 * protected resource metadata (RFC 9728). A bad option throws a `ConfigurationError` naming it.
 */
@Module({})
export class TokenwardModule implements OnModuleInit, OnModuleDestroy {
  readonly #settings: Settings
  readonly #adapterHost: HttpAdapterHost

  constructor(
    @Inject(SETTINGS) settings: Settings,
    @Inject(HttpAdapterHost) adapterHost: HttpAdapterHost,
  ) {
    this.#settings = settings
    this.#adapterHost = adapterHost
  }

  /**
   * Installs the RFC 9728 document's handler on the HTTP adapter. Nest calls this after it has
   * registered the application's routes and before its not-found handler, on both platforms.
   */
  onModuleInit(): void {
    // An application context without HTTP (a worker, a CLI) has no adapter: null, or undefined.
    const httpAdapter = this.#adapterHost.httpAdapter as HttpAdapterHost['httpAdapter'] | null
    if (!this.#settings.metadata || httpAdapter == null) return
    const handler = metadataHandler(this.#settings.validator)
    if (handler !== undefined) httpAdapter.use(handler)
  }

  static forRoot(
    optionsOrValidator: ValidatorOptions | Validator,
    options: TokenwardModuleOptions = {},
  ): DynamicModule {
    const settings = settingsOf(optionsOrValidator, options)
    return dynamicModule({ provide: SETTINGS, useValue: settings }, options, [])
  }

  static forRootAsync(options: TokenwardModuleAsyncOptions): DynamicModule {
    const settings: Provider = {
      provide: SETTINGS,
      useFactory: async (...args: unknown[]) =>
        settingsOf(await options.useFactory(...(args as never[])), options),
      inject: [...(options.inject ?? [])],
    }
    return dynamicModule(settings, options, options.imports ?? [])
  }

  /** Closes a validator the module created (its timers and sockets) when the app closes. */
  async onModuleDestroy(): Promise<void> {
    if (this.#settings.created) await this.#settings.validator.close()
  }
}

function settingsOf(
  optionsOrValidator: ValidatorOptions | Validator,
  options: TokenwardModuleOptions,
): Settings {
  const { validator, created } = adapterValidator(optionsOrValidator)
  return {
    validator,
    created,
    optional: options.optional === true,
    metadata: options.protectedResourceMetadata !== false,
  }
}

function dynamicModule(
  settings: Provider,
  options: TokenwardModuleOptions,
  imports: NonNullable<ModuleMetadata['imports']>,
): DynamicModule {
  const providers: Provider[] = [
    settings,
    { provide: TOKENWARD_VALIDATOR, useFactory: (s: Settings) => s.validator, inject: [SETTINGS] },
    TokenwardGuard,
  ]
  if (options.globalGuard !== false)
    providers.push({ provide: APP_GUARD, useExisting: TokenwardGuard })
  return {
    module: TokenwardModule,
    global: true,
    imports,
    providers,
    exports: [SETTINGS, TOKENWARD_VALIDATOR, TokenwardGuard],
  }
}

/** Adds requirements to a route (method) or to every route of a controller (class). */
function requiring(requirements: Requirements): MethodDecorator & ClassDecorator {
  return (target: object, _key?: string | symbol, descriptor?: PropertyDescriptor) => {
    const holder = (descriptor?.value as object | undefined) ?? target
    const list = (Reflect.getOwnMetadata(REQUIREMENTS, holder) as Requirements[] | undefined) ?? []
    Reflect.defineMetadata(REQUIREMENTS, [...list, requirements], holder)
  }
}

/** Requires every role named; a trailing `{ org }` counts only roles granted in that organisation. */
export function Roles(...roles: string[]): MethodDecorator & ClassDecorator
export function Roles(
  ...args: [...roles: string[], options: RoleOptions]
): MethodDecorator & ClassDecorator
export function Roles(...args: (string | RoleOptions)[]): MethodDecorator & ClassDecorator {
  return requiring(roleRequirements(args))
}

/** Requires every scope named; a 403 names them in the challenge. */
export function Scopes(...scopes: string[]): MethodDecorator & ClassDecorator {
  return requiring({ scopes })
}

/** Requires what the core's `Requirements` say, e.g. `{ roles: { anyOf: ['admin', 'editor'] } }`. */
export function RequireAuth(requirements: Requirements): MethodDecorator & ClassDecorator {
  return requiring(requirements)
}

/** Leaves a route (or every route of a controller) unauthenticated: the guard lets it through. */
export function Public(): MethodDecorator & ClassDecorator {
  return SetMetadata(PUBLIC, true)
}

/** The request's `AuthResult` as a handler parameter: `me(@Auth() auth: AuthResult)`. */
export const Auth: () => ParameterDecorator = createParamDecorator(
  (_data: unknown, context: ExecutionContext) =>
    context.switchToHttp().getRequest<PlatformRequest>().auth,
)
