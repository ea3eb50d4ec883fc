/** The options of `TokenwardModule.forRoot` and `forRootAsync`. */
import type { InjectionToken, ModuleMetadata, OptionalFactoryDependency } from '@nestjs/common'
import type { Validator, ValidatorOptions } from '@tokenward/core'

/** Options of the module besides the validator's. */
export interface TokenwardModuleOptions {
  /**
   * Install `TokenwardGuard` for every route (an `APP_GUARD`); `@Public()` leaves a route alone.
   * With false, add it where you want it: `@UseGuards(TokenwardGuard)`. Default true.
   */
  readonly globalGuard?: boolean
  /**
   * Let a request without a bearer token through with `request.auth` undefined; a bad token is
   * still rejected, and `@Roles`/`@Scopes`/`@RequireAuth` still answer `missing_token`. Default false.
   */
  readonly optional?: boolean
  /**
   * Serve this API's protected resource metadata (RFC 9728) at
   * `/.well-known/oauth-protected-resource` plus the path of the resource id, when the validator
   * has the `resource` option: on the HTTP adapter, outside the global prefix, versioning and
   * guards (the URL is fixed by the resource id, the document is public). Default true.
   */
  readonly protectedResourceMetadata?: boolean
}

/** `TokenwardModule.forRootAsync`: the validator's options (or a validator) from a factory. */
export interface TokenwardModuleAsyncOptions
  extends TokenwardModuleOptions, Pick<ModuleMetadata, 'imports'> {
  /** Called with the values of `inject`'s tokens, in order (Nest's factory providers). */
  readonly useFactory: (
    ...args: never[]
  ) => ValidatorOptions | Validator | Promise<ValidatorOptions | Validator>
  readonly inject?: readonly (InjectionToken | OptionalFactoryDependency)[]
}
