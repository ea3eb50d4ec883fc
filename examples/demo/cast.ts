// Who is who in the demo: one ZITADEL instance with two organisations and two projects, and the
// tokens its users get. The ids have ZITADEL's shapes (project ids are digits, app client ids
// `<digits>@<project name>`); the tokens come from a real OpenID Provider (oidc-provider, started
// by the test harness), shaped the way ZITADEL shapes them.
import { zitadelShape, type IssueTokenOptions, type TestIssuer } from '../../test/support/issuer.js'

export interface Org {
  readonly name: string
  readonly id: string
  readonly domain: string
}
export const ACME: Org = { name: 'Acme', id: '170086363054473473', domain: 'acme.example' }
export const GLOBEX: Org = { name: 'Globex', id: '209806355664453634', domain: 'globex.example' }

export interface Project {
  readonly name: string
  readonly id: string
  /** Client ids of the project's apps. ZITADEL puts every one of them in `aud`, then the project id. */
  readonly apps: readonly string[]
}
/** The project of the API the demo protects. */
export const SHOP: Project = {
  name: 'shop',
  id: '170086774599581953',
  apps: ['170086824411201793@shop', '209806276543185153@shop'],
}
/** Another project of the same instance. */
export const BILLING: Project = {
  name: 'billing',
  id: '252855756087375358',
  apps: ['252856053933356542@billing'],
}

export const USERS: Readonly<Record<string, string>> = {
  alice: '271449378465775617',
  bob: '271449411290378241',
  carol: '271449437563498497',
  dave: '271449460388904961',
  'report-bot': '271449485105938433',
}

export interface MintOptions {
  /** A name from USERS (its id becomes `sub`), or any id. */
  readonly user: string
  /** Roles granted in `org`, in `project`. */
  readonly roles?: readonly string[]
  readonly org?: Org
  /** The project whose app asked for the token (its apps and id make `aud`). Default SHOP. */
  readonly project?: Project
  /** Project ids the client asked for on top (ZITADEL's `urn:zitadel:iam:org:project:id:{id}:aud` scope). */
  readonly extraAudience?: readonly string[]
  /** `'opaque'`: a random string the API must introspect. Default `'jwt'`. */
  readonly format?: 'jwt' | 'opaque'
  /** Expired this many seconds ago. */
  readonly expiredSecondsAgo?: number
}

/**
 * A ZITADEL-shaped access token from the provider's real token endpoint: header `typ: JWT`,
 * `aud` = the project's app client ids + its project id (+ extra projects), `client_id`, and the
 * roles in ZITADEL's map shape `{ role: { orgId: orgDomain } }` under both claims:
 * `urn:zitadel:iam:org:project:{projectId}:roles` and the generic
 * `urn:zitadel:iam:org:project:roles` (the roles in the project of the app that asked).
 */
export async function mint(issuer: TestIssuer, options: MintOptions): Promise<string> {
  const project = options.project ?? SHOP
  const org = options.org ?? ACME
  const roles = Object.fromEntries(
    (options.roles ?? []).map((role) => [role, { [org.id]: org.domain }]),
  )
  const claims: Record<string, unknown> = { sub: USERS[options.user] ?? options.user }
  if (options.expiredSecondsAgo !== undefined) {
    const now = Math.floor(Date.now() / 1000)
    claims.iat = now - options.expiredSecondsAgo - 300
    claims.exp = now - options.expiredSecondsAgo
  }
  const shape = zitadelShape({
    projectId: project.id,
    clientIds: project.apps,
    clientId: project.apps[0]!,
    roles,
    claims,
  })
  const request: IssueTokenOptions = {
    ...shape,
    audience: [...shape.audience, ...(options.extraAudience ?? [])],
    format: options.format ?? 'jwt',
  }
  return (await issuer.issueToken(request)).token
}

/** At most a short prefix of a token: enough to tell two apart, never enough to use one. */
export function prefix(token: string): string {
  return `${token.slice(0, 10)}…`
}
