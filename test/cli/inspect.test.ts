// `tokenward inspect` against the real provider: one line per check, fix hints, exit status
// 0 valid / 1 rejected / 2 usage error or issuer unreachable; never the whole token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { refusedUrl } from '../../packages/core/test/support/fault-server.js'
import { startIssuer, zitadelShape, type TestIssuer } from '../support/issuer.js'
import { run, runBinary } from './run.js'

const PROJECT = '170086774599581953'
const APP1 = '170086824411201793@portal'
const APP2 = '209806276543185153@portal'
const ORG = '170086363054473473'

let issuer: TestIssuer

beforeAll(async () => {
  issuer = await startIssuer()
})
afterAll(async () => {
  await issuer.close()
})

function zitadelToken(
  roles: Record<string, Record<string, string>> = { admin: { [ORG]: 'acme.example' } },
) {
  return issuer.issueToken(
    zitadelShape({ projectId: PROJECT, clientIds: [APP1, APP2], clientId: APP1, roles }),
  )
}

describe('tokenward inspect', () => {
  it('passes every check of a valid token and exits 0', async () => {
    const { token } = await zitadelToken()
    const { status, out } = await run([
      'inspect',
      token,
      '--issuer',
      issuer.issuer,
      '--audience',
      PROJECT,
      '--audience',
      APP1,
      '--audience',
      APP2,
      '--strict',
      '--roles',
      'zitadel',
      '--project-id',
      PROJECT,
      '--role',
      'admin',
    ])
    expect(status).toBe(0)
    for (const check of [
      'format',
      'algorithm',
      'type',
      'lifetime',
      'issuer',
      'audience',
      'signature',
      'requirements',
    ]) {
      expect(out).toMatch(new RegExp(`^pass  ${check}`, 'm'))
    }
    expect(out).not.toContain('FAIL')
    expect(out.trim().endsWith('valid')).toBe(true)
  })

  it('names the untrusted audience in strict mode and says how to fix it; exits 1', async () => {
    const { token } = await zitadelToken()
    const { status, out } = await run([
      'inspect',
      token,
      '--issuer',
      issuer.issuer,
      '--audience',
      PROJECT,
      '--audience',
      APP1,
      '--strict',
    ])
    expect(status).toBe(1)
    expect(out).toMatch(
      /^FAIL {2}audience {6}untrusted_audience \(401\): .*209806276543185153@portal/m,
    )
    expect(out).toContain(
      `fix: ${APP2} is another app of this API's project (ZITADEL puts every app client id of the project in aud): trust it (add ${APP2} to audience.trusted, --audience), or use lenient mode with required: [${PROJECT}]\n`,
    )
    expect(out).toMatch(/rejected: 401 untrusted_audience\s*$/)
  })

  it('tells a ZITADEL user to request the project audience scope when the project is missing', async () => {
    const { token } = await issuer.issueToken(
      zitadelShape({ projectId: '999', clientIds: [APP1], clientId: APP1 }),
    )
    const { status, out } = await run([
      'inspect',
      token,
      '--issuer',
      issuer.issuer,
      '--required',
      PROJECT,
    ])
    expect(status).toBe(1)
    expect(out).toContain(
      `add the scope urn:zitadel:iam:org:project:id:${PROJECT}:aud to the login request`,
    )
  })

  it("names this API's own project id when only an app of it was trusted", async () => {
    const { token } = await issuer.issueToken(
      zitadelShape({ projectId: '252855756087375358', clientIds: [APP1], clientId: APP1 }),
    )
    const { status, out } = await run([
      'inspect',
      token,
      '--issuer',
      issuer.issuer,
      '--audience',
      APP1,
      '--required',
      APP1,
      '--strict',
    ])
    expect(status).toBe(1)
    expect(out).toContain(
      "fix: 252855756087375358 is this API's project id (ZITADEL puts it in aud next to the app client ids): trust it (add it to audience.trusted, --audience)\n",
    )
  })

  it('explains a missing role', async () => {
    const { token } = await zitadelToken({ reader: { [ORG]: 'acme.example' } })
    const { status, out } = await run([
      'inspect',
      token,
      '--issuer',
      issuer.issuer,
      '--required',
      PROJECT,
      '--roles',
      'zitadel',
      '--role',
      'admin',
    ])
    expect(status).toBe(1)
    expect(out).toMatch(/^FAIL {2}requirements {2}insufficient_role \(403\)/m)
    expect(out).toContain('grant the role to the user in ZITADEL')
  })

  it('exits 2 when the issuer is unreachable', async () => {
    const down = await startIssuer()
    try {
      const { token } = await down.issueToken({ audience: [PROJECT] })
      down.setDown(true)
      const { status, out } = await run([
        'inspect',
        token,
        '--issuer',
        down.issuer,
        '--audience',
        PROJECT,
      ])
      expect(status).toBe(2)
      expect(out).toMatch(/^pass {2}audience/m)
      expect(out).toMatch(/^FAIL {2}signature {5}upstream_unavailable \(503\)/m)
    } finally {
      await down.close()
    }
  })

  it('exits 1, not 2, for a token of another issuer', async () => {
    const { token } = await zitadelToken()
    const url = await refusedUrl()
    const { status, out } = await run(['inspect', token, '--issuer', url, '--audience', PROJECT])
    expect(status).toBe(1)
    expect(out).toMatch(/^FAIL {2}issuer {8}invalid_issuer/m)
    expect(out).toContain(`--issuer must equal iss exactly (no trailing slash): "${issuer.issuer}"`)
  })

  it('exits 2 with one line on a bad command line', async () => {
    expect(await run(['inspect', 'x', '--audience', 'a'])).toEqual({
      status: 2,
      out: '',
      err: 'tokenward: --issuer is required\n',
    })
  })

  it('writes machine-readable JSON with --json', async () => {
    const { token } = await zitadelToken()
    const { status, out } = await run([
      'inspect',
      token,
      '--issuer',
      issuer.issuer,
      '--audience',
      PROJECT,
      '--strict',
      '--json',
    ])
    expect(status).toBe(1)
    const report = JSON.parse(out) as {
      valid: boolean
      steps: { check: string; ok: boolean; code?: string; hint?: string }[]
    }
    expect(report.valid).toBe(false)
    const audience = report.steps.find((step) => step.check === 'audience')
    expect(audience).toMatchObject({ ok: false, code: 'untrusted_audience' })
    expect(audience?.hint).toContain(APP1)
  })

  it('introspects an opaque token with --introspect', async () => {
    const { token } = await issuer.issueToken({ format: 'opaque', audience: [PROJECT] })
    const { clientId, clientSecret } = issuer.introspectionClients.basic
    const { status, out } = await run([
      'inspect',
      token,
      '--issuer',
      issuer.issuer,
      '--audience',
      PROJECT,
      '--introspect',
      '--client-id',
      clientId,
      '--client-secret',
      clientSecret,
    ])
    expect(status).toBe(0)
    expect(out).toMatch(/^pass {2}introspection/m)
  })

  it('reads the token from standard input and never prints the token or its signature', async () => {
    const { token } = await zitadelToken()
    const { status, out } = await runBinary(
      ['inspect', '-', '--issuer', issuer.issuer, '--audience', PROJECT, '--strict'],
      token,
    )
    expect(status).toBe(1)
    expect(out).toContain('untrusted_audience')
    expect(out).not.toContain(token)
    expect(out).not.toContain(token.split('.')[2])
  })
})
