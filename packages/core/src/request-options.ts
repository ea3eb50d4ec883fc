/**
 * The options about the request around the token: DPoP (RFC 9449), this API as a protected
 * resource (RFC 8707, RFC 9728), and how the request's URL and client certificate are read.
 */
import type { JwsAlgorithm } from './types.js'
import { createMemoryReplayStore } from './replay.js'
import {
  fail,
  httpsUrl,
  isObject,
  numberInRange,
  optionNames,
  refuseUnknownOptions,
} from './option-values.js'
import type {
  DpopMode,
  DpopOptions,
  HttpOptions,
  ReplayStore,
  ResourceOptions,
  ValidatorOptions,
} from './types.js'

/** The checked `dpop` option. */
export interface DpopConfig {
  readonly mode: DpopMode
  readonly algorithms: readonly string[]
  readonly iatWindowSeconds: number
  readonly clockToleranceSeconds: number
  readonly replay: ReplayStore
}

/** The checked `resource` option and what is derived from it. */
export interface ResourceConfig {
  readonly id: string
  /** RFC 9728 §3.1: the well-known path inserted between the host and the path of `id`. */
  readonly metadataUrl: string
  /** The path of {@link metadataUrl}, which adapters answer. */
  readonly metadataPath: string
  readonly document: Readonly<Record<string, unknown>>
}

/** The checked `http` option. */
export interface HttpConfig {
  readonly baseUrl: string | undefined
  readonly trustProxy: boolean
  readonly clientCertificateHeader: string | undefined
}

const DPOP_OPTIONS = optionNames<DpopOptions>({
  mode: true,
  algorithms: true,
  iatWindowSeconds: true,
  clockToleranceSeconds: true,
  replay: true,
})
const RESOURCE_OPTIONS = optionNames<ResourceOptions>({ id: true, metadata: true })
const HTTP_OPTIONS = optionNames<HttpOptions>({
  baseUrl: true,
  trustProxy: true,
  clientCertificateHeader: true,
})

const WELL_KNOWN = '/.well-known/oauth-protected-resource'

/** The `dpop` option: `'allowed'` by default (a bound token is checked, a bearer one accepted). */
export function dpopOption(
  value: unknown,
  algorithms: ReadonlySet<string>,
  clock: () => number,
): DpopConfig {
  const dpop = value ?? {}
  if (!isObject(dpop)) fail('dpop', "must be an object, e.g. { mode: 'required' }")
  refuseUnknownOptions('dpop', DPOP_OPTIONS, dpop)
  const mode = (dpop.mode ?? 'allowed') as unknown
  if (mode !== 'disabled' && mode !== 'allowed' && mode !== 'required') {
    fail('dpop.mode', `must be 'disabled', 'allowed' or 'required'; got ${JSON.stringify(mode)}`)
  }
  let proofAlgorithms: readonly string[] = [...algorithms]
  if (dpop.algorithms !== undefined) {
    const list = dpop.algorithms as unknown
    if (
      !Array.isArray(list) ||
      list.length === 0 ||
      !list.every((alg: unknown) => typeof alg === 'string' && algorithms.has(alg))
    ) {
      fail('dpop.algorithms', `must be a non-empty list of: ${[...algorithms].join(', ')}`)
    }
    proofAlgorithms = list as JwsAlgorithm[]
  }
  const replay = dpop.replay as Partial<ReplayStore> | undefined
  if (replay !== undefined && (!isObject(replay) || typeof replay.claim !== 'function')) {
    fail('dpop.replay', 'must implement claim(key, ttlSeconds) (an atomic set-if-absent)')
  }
  return {
    mode,
    algorithms: proofAlgorithms,
    iatWindowSeconds: numberInRange(dpop.iatWindowSeconds, 'dpop.iatWindowSeconds', 300, {
      min: 1,
      max: 3600,
    }),
    clockToleranceSeconds: numberInRange(
      dpop.clockToleranceSeconds,
      'dpop.clockToleranceSeconds',
      60,
      { min: 0, max: 600 },
    ),
    replay: (replay as ReplayStore | undefined) ?? createMemoryReplayStore({ clock }),
  }
}

/** The `resource` option and its RFC 9728 metadata document. */
export function resourceOption(
  options: Pick<ValidatorOptions, 'resource'>,
  issuers: readonly string[],
  dpop: DpopConfig,
): ResourceConfig | undefined {
  const resource = options.resource as unknown
  if (resource === undefined) return undefined
  if (!isObject(resource)) fail('resource', 'must be an object { id, metadata? }')
  refuseUnknownOptions('resource', RESOURCE_OPTIONS, resource)
  const id = httpsUrl(resource.id, 'resource.id', 'https://api.example.com')
  const url = new URL(id)
  if (url.hash !== '' || url.search !== '') {
    fail('resource.id', 'must have no query and no fragment (RFC 8707 §2)')
  }
  const metadata = resource.metadata ?? {}
  if (!isObject(metadata)) fail('resource.metadata', 'must be an object of RFC 9728 members')
  const path = url.pathname === '/' ? '' : url.pathname
  const metadataPath = `${WELL_KNOWN}${path}`
  const document: Record<string, unknown> = {
    resource: id,
    ...(issuers.length > 0 ? { authorization_servers: issuers } : {}),
    bearer_methods_supported: ['header'],
    ...(dpop.mode === 'disabled'
      ? {}
      : {
          dpop_signing_alg_values_supported: dpop.algorithms,
          dpop_bound_access_tokens_required: dpop.mode === 'required',
        }),
    ...metadata,
  }
  return {
    id,
    metadataUrl: `${url.origin}${metadataPath}`,
    metadataPath,
    document: Object.freeze(document),
  }
}

/** The `http` option. */
export function httpOption(value: unknown): HttpConfig {
  const http = value ?? {}
  if (!isObject(http))
    fail('http', 'must be an object { baseUrl, trustProxy, clientCertificateHeader }')
  refuseUnknownOptions('http', HTTP_OPTIONS, http)
  const baseUrl =
    http.baseUrl === undefined
      ? undefined
      : httpsUrl(http.baseUrl, 'http.baseUrl', 'https://api.example.com').replace(/\/$/, '')
  if (http.trustProxy !== undefined && typeof http.trustProxy !== 'boolean') {
    fail('http.trustProxy', 'must be a boolean')
  }
  const header = http.clientCertificateHeader
  if (
    header !== undefined &&
    (typeof header !== 'string' || !/^[!#-'*+.^-`|~\w-]+$/.test(header))
  ) {
    fail('http.clientCertificateHeader', 'must be a header name, e.g. "x-client-cert"')
  }
  return {
    baseUrl,
    trustProxy: http.trustProxy === true,
    clientCertificateHeader: header?.toLowerCase(),
  }
}
