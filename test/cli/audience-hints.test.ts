// The strict-audience hint of `tokenward inspect` tells a sibling app of this API's project
// (trust it, or go lenient with the project required) from another project's app (do not trust
// it: the token was not meant for this API). Tokens come from the demo's cast, minted by the
// real provider the way ZITADEL shapes them: `aud` = every app client id of the requesting app's
// project, that project's id, then any project the app asked for on top.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hintFor, type HintContext } from '@tokenward/cli'
import { BILLING, SHOP, mint } from '../../examples/demo/cast.js'
import { startIssuer, type TestIssuer } from '../support/issuer.js'
import { run } from './run.js'

const [SHOP_WEB, SHOP_MOBILE] = SHOP.apps as [string, string]
const [BILLING_APP] = BILLING.apps as [string]
const FIX = `${' '.repeat(20)}fix: `

let issuer: TestIssuer

beforeAll(async () => {
  issuer = await startIssuer()
})
afterAll(async () => {
  await issuer.close()
})

/** `tokenward inspect TOKEN --issuer … --strict` plus `args`: the exit status and the fix line. */
async function strictFix(token: string, args: string[]): Promise<[number | null, string]> {
  const { status, out } = await run([
    'inspect',
    token,
    '--issuer',
    issuer.issuer,
    '--strict',
    ...args,
  ])
  const line = out.split('\n').find((text) => text.startsWith(FIX)) ?? out
  expect(out).toMatch(/^FAIL {2}audience {6}untrusted_audience \(401\): /m)
  return [status, line.slice(FIX.length)]
}

describe('untrusted_audience: whose app asked for the token', () => {
  it("the demo's step 7: billing's app asked for shop's audience too; do not trust it", async () => {
    const dave = await mint(issuer, {
      user: 'dave',
      roles: ['admin'],
      project: BILLING,
      extraAudience: [SHOP.id],
    })
    // The command the demo prints after its tour.
    const args = [SHOP.id, ...SHOP.apps].flatMap((id) => ['--audience', id])
    expect(
      await strictFix(dave, [
        ...args,
        '--roles',
        'zitadel',
        '--project-id',
        SHOP.id,
        '--role',
        'admin',
      ]),
    ).toEqual([
      1,
      `keep strict and do not trust ${BILLING_APP}: it is an app of another project, so this token was issued to that project's app, which asked for this API's audience too; it was not meant for this API. The caller needs a token from one of this project's apps`,
    ])
  })

  it("a sibling app of this API's project (same project name): trust it, or lenient + required", async () => {
    const alice = await mint(issuer, { user: 'alice', roles: ['admin'] })
    expect(await strictFix(alice, ['--audience', SHOP.id, '--audience', SHOP_WEB])).toEqual([
      1,
      `${SHOP_MOBILE} is another app of this API's project (ZITADEL puts every app client id of the project in aud): trust it (add ${SHOP_MOBILE} to audience.trusted, --audience), or use lenient mode with required: [${SHOP.id}]`,
    ])
  })

  it('a sibling app, with only the project id trusted: every project id in aud is this API’s', async () => {
    const alice = await mint(issuer, { user: 'alice' })
    expect(await strictFix(alice, ['--audience', SHOP.id])).toEqual([
      1,
      `${SHOP_WEB} is another app of this API's project (ZITADEL puts every app client id of the project in aud): trust it (add ${SHOP_WEB} to audience.trusted, --audience), or use lenient mode with required: [${SHOP.id}]`,
    ])
  })

  it("this project's app asked for another project's audience too: trust that only on purpose", async () => {
    const alice = await mint(issuer, { user: 'alice', extraAudience: [BILLING.id] })
    const args = [SHOP.id, ...SHOP.apps].flatMap((id) => ['--audience', id])
    expect(await strictFix(alice, args)).toEqual([
      1,
      `${BILLING.id} is another project's id: the client asked for that project's audience too (scope urn:zitadel:iam:org:project:id:${BILLING.id}:aud). Trust it only if tokens for that project may call this API; else keep strict and ask for a token for ${SHOP.id} only`,
    ])
  })

  it("another issuer's tokens: both cases, since aud alone cannot tell them apart", async () => {
    const { token } = await issuer.issueToken({
      audience: ['https://api.example', 'https://other.example'],
    })
    expect(await strictFix(token, ['--audience', 'https://api.example'])).toEqual([
      1,
      "if https://other.example is another client of this API (an issuer may list sibling apps in aud), trust it (add https://other.example to audience.trusted, --audience), or use lenient mode with required: [https://api.example]; if it names another API or another project's app, the token was not meant for this API: do not trust it",
    ])
  })
})

describe('hintFor, untrusted_audience, where aud alone leaves it open', () => {
  const context = (claims: Record<string, unknown>, trusted: string[]): HintContext => ({
    claims,
    trusted,
    required: [],
    strict: true,
    issuer: ['https://acme.zitadel.cloud'],
  })

  it("an app, and project ids that are not all this API's: says both cases", () => {
    const claims = {
      client_id: BILLING_APP,
      aud: [BILLING_APP, BILLING.id, SHOP.id],
    }
    expect(hintFor('untrusted_audience', context(claims, [SHOP.id]))).toBe(
      `if ${BILLING_APP} is an app of this API's project, trust it (add ${BILLING_APP} to audience.trusted, --audience), or use lenient mode with required: [${SHOP.id}]; if it is another project's app, the token was issued to that app and not meant for this API: do not trust it. Give this API's app client ids (--audience) to tell the two apart`,
    )
  })

  it("a machine user's token (project ids only) naming another project", () => {
    const claims = {
      client_id: 'report-bot',
      aud: [SHOP.id, BILLING.id],
      [`urn:zitadel:iam:org:project:${SHOP.id}:roles`]: {},
    }
    expect(hintFor('untrusted_audience', context(claims, [SHOP.id]))).toBe(
      `${BILLING.id} is another project's id: the client asked for that project's audience too (scope urn:zitadel:iam:org:project:id:${BILLING.id}:aud). Trust it only if tokens for that project may call this API; else keep strict and ask for a token for ${SHOP.id} only`,
    )
  })
})
