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
  authenticateNodeRequest,
  authenticateRequest,
  closeWithServer,
  metadataResponse,
  nodeRequestContext,
  renderFailure,
  type HttpResponse,
  type NodeOutcome,
  type NodeRequestLike,
  resolveValidator,
  roleRequirements,
  routeGuards,
  type RoleOptions,
  type RouteGuards,
} from './adapter.js'
export { authorizationValues } from './bearer.js'
export {
  authenticateFetch,
  failureResponse,
  fetchAuthorizationValues,
  fetchRequestContext,
} from './fetch.js'
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
export {
  DPOP_CLOCK_TOLERANCE_SECONDS,
  DPOP_IAT_WINDOW_SECONDS,
  checkDpopProof,
  dpopHeader,
  type DpopProof,
  type DpopProofCheck,
} from './dpop.js'
export { normalizeHtu } from './htu.js'
export { createMemoryReplayStore, type MemoryReplayStoreOptions } from './replay.js'
export {
  certificateThumbprint,
  checkAuthentication,
  checkBinding,
  dpopChallenge,
  type AuthenticationCheck,
  type BindingPolicy,
  type Presentation,
} from './binding.js'
export type { HttpRequestParts } from './request-context.js'
export type { ProtectedResource } from './validator-types.js'
export type {
  ClientCertificate,
  DpopMode,
  DpopOptions,
  HttpOptions,
  ReplayStore,
  RequestContext,
  ResourceOptions,
  TenantOptions,
} from './types.js'
export type { AuthScheme, DpopChallenge, TokenwardErrorOptions } from './errors.js'
