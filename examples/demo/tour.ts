// The narrated tour: each step sends one request to the running API and prints what was sent
// (never a whole token), what came back (status, WWW-Authenticate, JSON body) and one line on why.
import type { TokenwardEvent } from '@tokenward/core'
import type { TestIssuer } from '../../test/support/issuer.js'
import { ACME, BILLING, GLOBEX, SHOP, mint, prefix } from './cast.js'

export interface Step {
  readonly title: string
  readonly path: string
  /** Who holds the token, in a few words; no token when absent. */
  readonly token?: { readonly value: string; readonly holder: string }
  readonly expect: { readonly status: number; readonly code?: string }
  /** One line: why the API answered so. Gets what happened during the request. */
  readonly why: (seen: Seen) => string
}

/** What happened during one request, besides the answer. */
export interface Seen {
  /** tokenward's onEvent events. */
  readonly events: readonly TokenwardEvent[]
  /** Introspection requests the issuer has received so far. */
  readonly introspections: number
}

export interface TourContext {
  readonly issuer: TestIssuer
  readonly api: string
  /** Events since the last call; the tour empties it before each request. */
  readonly events: TokenwardEvent[]
  readonly write: (line: string) => void
  readonly colour: boolean
}

/** Changes a JWT's payload and keeps its signature: what a forger can do without the key. */
function tamper(token: string, change: (claims: Record<string, unknown>) => void): string {
  const [header, payload, signature] = token.split('.')
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >
  change(claims)
  return [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.')
}

const projectClaim = `urn:zitadel:iam:org:project:${SHOP.id}:roles`
const genericClaim = 'urn:zitadel:iam:org:project:roles'

export async function tourSteps(issuer: TestIssuer): Promise<Step[]> {
  const [alice, bob, carol, dave, expired, bot] = await Promise.all([
    mint(issuer, { user: 'alice', roles: ['admin', 'reader'] }),
    mint(issuer, { user: 'bob', roles: ['reader'] }),
    mint(issuer, { user: 'carol', roles: ['reader'], org: GLOBEX }),
    // An app of another project asked for shop's audience too: ZITADEL grants any such request.
    mint(issuer, { user: 'dave', roles: ['admin'], project: BILLING, extraAudience: [SHOP.id] }),
    mint(issuer, { user: 'alice', roles: ['admin', 'reader'], expiredSecondsAgo: 120 }),
    mint(issuer, { user: 'report-bot', roles: ['reader'], format: 'opaque' }),
  ])
  const forged = tamper(bob, (claims) => {
    claims[projectClaim] = { admin: { [ACME.id]: ACME.domain } }
  })
  const introspected = (seen: Seen) =>
    `issuer introspection requests so far: ${seen.introspections}; onEvent: ${describeEvents(seen.events)}`

  return [
    {
      title: 'No token',
      path: '/me',
      expect: { status: 401, code: 'missing_token' },
      why: () =>
        'No credentials: a bare challenge with no error code (RFC 6750 §3.1). The client should get a token.',
    },
    {
      title: "alice's token, from shop's web app",
      path: '/me',
      token: { value: alice, holder: 'alice: admin, reader in Acme' },
      expect: { status: 200 },
      why: () =>
        `Signature (issuer's JWKS), iss, exp and a strict aud hold. Roles come from ${projectClaim}, with the orgs where granted.`,
    },
    {
      title: 'alice on an admin route',
      path: '/admin',
      token: { value: alice, holder: 'alice: admin, reader in Acme' },
      expect: { status: 200 },
      why: () => "requireRoles('admin'): alice is admin in this API's project.",
    },
    {
      title: 'bob on an admin route',
      path: '/admin',
      token: { value: bob, holder: 'bob: reader in Acme' },
      expect: { status: 403, code: 'insufficient_role' },
      why: () =>
        'A valid token, a missing role: 403, not 401 (a new token would not help). The challenge names no roles.',
    },
    {
      title: 'bob reads the reports',
      path: '/reports',
      token: { value: bob, holder: 'bob: reader in Acme' },
      expect: { status: 200 },
      why: () => "requireRoles('reader', { org: Acme }): bob is a reader, granted in Acme.",
    },
    {
      title: 'carol reads the reports',
      path: '/reports',
      token: { value: carol, holder: 'carol: reader in Globex' },
      expect: { status: 403, code: 'insufficient_role' },
      why: () => 'carol is a reader too, but in Globex: { org } counts only roles granted in Acme.',
    },
    {
      title: 'A token minted for another project',
      path: '/me',
      token: { value: dave, holder: `dave, via billing's app; aud: billing + shop` },
      expect: { status: 401, code: 'untrusted_audience' },
      why: () =>
        `Strict: every aud value must be trusted (OIDC Core 3.1.3.7; Proxmox does the same). ZITADEL adds any project a client asks for (scope urn:zitadel:iam:org:project:id:${SHOP.id}:aud).`,
    },
    {
      title: 'The same token, lenient mode',
      path: '/lenient/me',
      token: { value: dave, holder: `dave, via billing's app; aud: billing + shop` },
      expect: { status: 200 },
      why: () =>
        "Lenient: shop's project id is in aud, the rest is ignored, so any app that asks for shop gets in. That is why strict exists.",
    },
    {
      title: 'dave, admin in another project, on an admin route (lenient)',
      path: '/lenient/admin',
      token: { value: dave, holder: 'dave: admin in billing, nothing in shop' },
      expect: { status: 403, code: 'insufficient_role' },
      why: () =>
        `${genericClaim} says admin, but it is the asking app's project (billing); ${projectClaim} has no admin. Audience is not authorization.`,
    },
    {
      title: 'bob edits his token to say admin',
      path: '/admin',
      token: { value: forged, holder: 'bob, payload edited, signature kept' },
      expect: { status: 401, code: 'invalid_signature' },
      why: () =>
        'The payload changed, so the signature no longer verifies: no claim of it is trusted.',
    },
    {
      title: 'An expired token',
      path: '/me',
      token: { value: expired, holder: 'alice, expired 2 minutes ago' },
      expect: { status: 401, code: 'token_expired' },
      why: () =>
        'exp is in the past (beyond clockToleranceSeconds, default 5): the client should refresh its token.',
    },
    {
      title: 'An opaque token',
      path: '/me',
      token: { value: bot, holder: 'report-bot: reader in Acme, opaque' },
      expect: { status: 200 },
      why: (seen) =>
        `Not a JWT: the API asked the issuer (RFC 7662 introspection, client_secret_basic). ${introspected(seen)}.`,
    },
    {
      title: 'The same opaque token again',
      path: '/reports',
      token: { value: bot, holder: 'report-bot: reader in Acme, opaque' },
      expect: { status: 200 },
      why: (seen) =>
        `Answered from the token cache, which keeps the result while its introspection answer is cached (60 s here, never beyond exp): ${introspected(seen)}.`,
    },
  ]
}

function describeEvents(events: readonly TokenwardEvent[]): string {
  const shown = events.flatMap((event) =>
    event.type === 'cache_hit' || event.type === 'cache_miss'
      ? [`${event.type} (${event.cache})`]
      : [],
  )
  return shown.length > 0 ? shown.join(', ') : 'none'
}

const REASONS: Readonly<Record<number, string>> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  503: 'Service Unavailable',
}

/** Runs the steps in order; resolves to the number of answers that were not the expected ones. */
export async function runTour(steps: readonly Step[], context: TourContext): Promise<number> {
  const { write } = context
  const paint = (code: number, text: string) =>
    context.colour ? `\x1b[${code}m${text}\x1b[0m` : text
  let unexpected = 0
  for (const [index, step] of steps.entries()) {
    context.events.length = 0
    const headers: Record<string, string> = {}
    if (step.token !== undefined) headers.authorization = `Bearer ${step.token.value}`
    const response = await fetch(`${context.api}${step.path}`, { headers })
    const text = await response.text()
    let body: unknown = text
    try {
      body = JSON.parse(text)
    } catch {
      // not JSON: shown as it came
    }
    const code =
      typeof body === 'object' && body !== null && 'code' in body ? String(body.code) : undefined
    const ok =
      response.status === step.expect.status &&
      (step.expect.code === undefined || step.expect.code === code)
    if (!ok) unexpected += 1

    write('')
    write(paint(1, `${String(index + 1).padStart(2)}. ${step.title}`))
    const sent =
      step.token === undefined
        ? '(no Authorization header)'
        : `Bearer ${prefix(step.token.value)}  (${step.token.holder})`
    write(`    → GET ${step.path}  ${sent}`)
    const statusText = `${response.status} ${REASONS[response.status] ?? ''}`.trim()
    write(
      `    ← ${paint(response.ok ? 32 : 31, statusText)}${code === undefined ? '' : `  ${code}`}`,
    )
    const challenge = response.headers.get('www-authenticate')
    if (challenge !== null) write(`      WWW-Authenticate: ${challenge}`)
    write(`      ${typeof body === 'string' ? body : JSON.stringify(body)}`)
    write(
      `    ${paint(2, step.why({ events: [...context.events], introspections: context.issuer.requests.introspection }))}`,
    )
    if (!ok) {
      write(
        paint(
          31,
          `    ✗ expected ${step.expect.status}${step.expect.code === undefined ? '' : ` ${step.expect.code}`}`,
        ),
      )
    }
  }
  return unexpected
}
