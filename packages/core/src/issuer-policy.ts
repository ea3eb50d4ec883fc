/**
 * Which issuers a validator trusts: the `issuer` option (one URL, a list, a template with
 * `{tenantid}`, or a predicate) and the `tenants` option, and the decision on a token's `iss`.
 *
 * `iss` is compared byte for byte (OIDC Core §3.1.3.7 rule 2). A template such as Entra ID's
 * `https://login.microsoftonline.com/{tenantid}/v2.0` matches an `iss` whose `{tenantid}` part
 * is one path segment; when the token carries `tid`, it must be that segment, and the tenant
 * must pass `tenants.allowed` when given. Issuers known only by a template or a predicate are
 * discovered one by one on first use (each with its own discovery document and keys), at most
 * `tenants.max` of them at a time.
 */
import { describeValue } from './errors.js'
import {
  fail,
  httpsUrl,
  isObject,
  nonEmptyStrings,
  numberInRange,
  optionNames,
  refuseUnknownOptions,
} from './option-values.js'
import type { Claims, TenantOptions, ValidatorOptions } from './types.js'

/** The checked `issuer` and `tenants` options. */
export interface IssuerPolicy {
  /** The issuers named in full, in order (the first one introspects opaque tokens). */
  readonly listed: readonly string[]
  /** Issuers beyond `listed` may be trusted (a template or a predicate). */
  readonly open: boolean
  /** How many issuers beyond `listed` are kept (their discovery and keys) at once. */
  readonly maxOpen: number
  /** Whether `iss` is trusted for a token with these claims. */
  accepts(iss: string, claims: Claims): boolean
  /** What was expected, for an `invalid_issuer` description. */
  readonly expected: string
}

const TENANT = '{tenantid}'
const EXAMPLE = 'https://acme.zitadel.cloud'
const TENANT_OPTIONS = optionNames<TenantOptions>({ allowed: true, max: true })

/** The policy of the `issuer` and `tenants` options; throws a `ConfigurationError`. */
export function issuerPolicy(options: Pick<ValidatorOptions, 'issuer' | 'tenants'>): IssuerPolicy {
  const { issuer } = options
  const tenants = tenantOption(options.tenants)
  if (typeof issuer === 'function') {
    return open([], (iss) => issuer(iss), 'an issuer the issuer predicate accepts', tenants.max)
  }
  if (typeof issuer === 'string' && issuer.includes(TENANT)) {
    return template(issuer, tenants)
  }
  const listed =
    typeof issuer === 'string' ? [issuer] : nonEmptyStrings(issuer, 'issuer', `e.g. "${EXAMPLE}"`)
  listed.forEach((url, i) => httpsUrl(url, listed.length > 1 ? `issuer[${i}]` : 'issuer', EXAMPLE))
  if (new Set(listed).size !== listed.length) fail('issuer', 'lists the same issuer twice')
  if (options.tenants !== undefined) fail('tenants', 'needs an issuer template with {tenantid}')
  const set = new Set(listed)
  return {
    listed,
    open: false,
    maxOpen: 0,
    accepts: (iss) => set.has(iss),
    expected: oneOf(listed),
  }
}

/** An issuer policy for exactly one issuer (an introspection answer speaks for its own). */
export function exactIssuer(issuer: string): Pick<IssuerPolicy, 'accepts' | 'expected'> {
  return { accepts: (iss) => iss === issuer, expected: describeValue(issuer) }
}

function open(
  listed: readonly string[],
  accepts: IssuerPolicy['accepts'],
  expected: string,
  maxOpen: number,
): IssuerPolicy {
  return { listed, open: true, maxOpen, accepts, expected }
}

function template(
  issuer: string,
  tenants: { allowed: ((tenant: string) => boolean) | undefined; max: number },
): IssuerPolicy {
  const [before, after, ...more] = issuer.split(TENANT) as [string, string, ...string[]]
  if (more.length > 0) fail('issuer', `may contain ${TENANT} once`)
  // The template with a sample tenant must itself be an acceptable issuer URL.
  httpsUrl(`${before}tenant${after}`, 'issuer', 'https://login.microsoftonline.com/{tenantid}/v2.0')
  return open(
    [],
    (iss, claims) => {
      if (!iss.startsWith(before) || !iss.endsWith(after)) return false
      const tenant = iss.slice(before.length, iss.length - after.length)
      if (tenant === '' || tenant.includes('/')) return false
      if (claims.tid !== undefined && claims.tid !== tenant) return false
      return tenants.allowed === undefined || tenants.allowed(tenant)
    },
    describeValue(issuer),
    tenants.max,
  )
}

function tenantOption(value: unknown): {
  allowed: ((tenant: string) => boolean) | undefined
  max: number
} {
  if (value === undefined) return { allowed: undefined, max: 100 }
  if (!isObject(value)) fail('tenants', 'must be an object { allowed, max }')
  refuseUnknownOptions('tenants', TENANT_OPTIONS, value)
  const { allowed } = value
  let accepts: ((tenant: string) => boolean) | undefined
  if (typeof allowed === 'function') {
    accepts = (tenant) => (allowed as (tenant: string) => unknown)(tenant) === true
  } else if (allowed !== undefined) {
    const list = new Set(
      nonEmptyStrings(
        allowed,
        'tenants.allowed',
        'list the tenant ids, or pass (tenantId) => boolean',
      ),
    )
    accepts = (tenant) => list.has(tenant)
  }
  const max = numberInRange(value.max, 'tenants.max', 100, { min: 1, max: 100_000, integer: true })
  return { allowed: accepts, max }
}

/** The expected values, for a description: the first two, then how many more. */
function oneOf(values: readonly string[]): string {
  const named = values.slice(0, 2).map(describeValue).join(' or ')
  return values.length > 2 ? `${named} or ${values.length - 2} more` : named
}
