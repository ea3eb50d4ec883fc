// The API's controllers and root module. TokenwardModule installs its guard for every route, so a
// route needs a valid token unless it says @Public(). No emitDecoratorMetadata: tsx and esbuild
// emit none, so every constructor parameter names its injection token with @Inject().
import { Controller, Get, Module, type DynamicModule } from '@nestjs/common'
import type { AuthResult, ValidatorOptions } from '@tokenward/core'
import { Auth, Public, Roles, Scopes, TokenwardModule } from '@tokenward/nestjs'

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

/** `AppModule.register(options)`: the API, its validator built from `options`. */
@Module({})
// eslint-disable-next-line @typescript-eslint/no-extraneous-class -- a Nest module is a decorated class
export class AppModule {
  static register(options: ValidatorOptions): DynamicModule {
    // With options.resource, TokenwardModule also serves the RFC 9728 document (§3.1 path).
    // A bad option throws here (a ConfigurationError naming it), before the app starts.
    return {
      module: AppModule,
      imports: [TokenwardModule.forRoot(options)],
      controllers: [ApiController],
    }
  }
}
