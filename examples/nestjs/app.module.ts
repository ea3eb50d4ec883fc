// The API's controllers and root module. TokenwardModule installs its guard for every route, so a
// route needs a valid token unless it says @Public(). No emitDecoratorMetadata: tsx and esbuild
// emit none, so every constructor parameter names its injection token with @Inject().
import {
  Controller,
  Get,
  Header,
  Inject,
  Module,
  type DynamicModule,
  type Type,
} from '@nestjs/common'
import type { AuthResult, Validator, ValidatorOptions } from '@tokenward/core'
import {
  Auth,
  Public,
  Roles,
  Scopes,
  TOKENWARD_VALIDATOR,
  TokenwardModule,
} from '@tokenward/nestjs'

@Controller()
class ApiController {
  @Get('health')
  @Public() // no token needed
  health() {
    return { ok: true }
  }

  @Get('me') // any valid token
  me(@Auth() auth: AuthResult) {
    const { subject, clientId, roles, scopes } = auth
    return { subject, clientId, roles, scopes }
  }

  @Get('admin')
  @Roles('admin')
  admin(@Auth() auth: AuthResult) {
    return { admin: auth.subject }
  }

  @Get('reports')
  @Scopes('reports:read')
  reports(@Auth() auth: AuthResult) {
    return { reports: [], reader: auth.subject }
  }
}

/**
 * The RFC 9728 document at `path`, as the validator derives it from the `resource` option. A
 * function because a route's path is fixed when its class is declared: Nest's guard runs on
 * matched routes only, so the document needs a route of its own.
 */
function metadataController(path: string): Type {
  @Controller()
  @Public() // RFC 9728 §3: clients fetch it before they have a token
  class ProtectedResourceController {
    readonly #validator: Validator
    constructor(@Inject(TOKENWARD_VALIDATOR) validator: Validator) {
      this.#validator = validator
    }

    @Get(path)
    @Header('cache-control', 'max-age=300')
    document() {
      return this.#validator.protectedResource?.()?.document
    }
  }
  return ProtectedResourceController
}

/** `AppModule.register(options)`: the API, its validator built from `options`. */
@Module({})
// eslint-disable-next-line @typescript-eslint/no-extraneous-class -- a Nest module is a decorated class
export class AppModule {
  static register(options: ValidatorOptions): DynamicModule {
    const controllers: Type[] = [ApiController]
    if (options.resource !== undefined) {
      // RFC 9728 §3.1: the well-known prefix, then the resource id's path (none for an origin).
      const { pathname } = new URL(options.resource.id)
      const suffix = pathname === '/' ? '' : pathname
      controllers.push(metadataController(`.well-known/oauth-protected-resource${suffix}`))
    }
    // A bad option throws here (a ConfigurationError naming it), before the app starts.
    return { module: AppModule, imports: [TokenwardModule.forRoot(options)], controllers }
  }
}
