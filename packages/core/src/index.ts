/**
 * @tokenward/core: decides whether a bearer token is genuine and what it allows.
 *
 * @packageDocumentation
 */
export {
  createValidator,
  type Inspection,
  type InspectionStep,
  type Validator,
} from './validator.js'
export type { CheckName } from './pipeline.js'
export {
  ConfigurationError,
  ERROR_CODES,
  TokenwardError,
  isTokenwardError,
  toHttpResponse,
  type BearerErrorCode,
  type ErrorBody,
  type HttpErrorResponse,
  type TokenwardErrorCode,
} from './errors.js'
export {
  adapterValidator,
  authenticateRequest,
  closeWithServer,
  renderFailure,
  resolveValidator,
  roleRequirements,
  type RoleOptions,
} from './adapter.js'
export { authorizationValues } from './bearer.js'
export { authenticateFetch, failureResponse, fetchAuthorizationValues } from './fetch.js'
export { hashToken } from './token.js'
export { checkRequirements, readScopes, toRoleMap } from './roles.js'
export { basicAuthorization, formUrlEncode } from './client-auth.js'
export type {
  AudienceMode,
  AudienceOptions,
  AuthResult,
  CacheStore,
  Claims,
  IntrospectionAuth,
  IntrospectionOptions,
  JwksOptions,
  JwsAlgorithm,
  Logger,
  Requirements,
  RoleMap,
  RolesOption,
  TokenwardEvent,
  ValidatorOptions,
  ZitadelKeyFile,
} from './types.js'
