// The lenient and strict audience modes (RFC 9068 §4, RFC 7519 §4.1.3, RFC 8725 §3.9; strict adds
// OIDC Core §3.1.3.7 rule 3: no audience the server does not trust), `audience.required`,
// `authorizedParties` and the start-up warning for a lenient configuration that accepts tokens
// addressed only to a co-audience.
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import type { AudienceOptions, Logger } from '@tokenward/core'
import {
  claims,
  createKey,
  expectFailure,
  freezeTime,
  mint,
  rejection,
  validatorFor,
  type TestKey,
} from './support/tokens.js'

const P = '170086774599581953'
const C1 = '170086824411201793@portal'
const C2 = '209806276543185153@portal'

let key: TestKey

beforeAll(async () => {
  key = await createKey()
})
beforeEach(() => {
  freezeTime()
})
afterEach(() => {
  vi.useRealTimers()
})

const accept = 'accept'

/** Validates a token with `payload` under `audience` (and `extra` options); checks the outcome. */
async function expectOutcome(
  outcome: string,
  payload: Record<string, unknown>,
  audience: AudienceOptions,
  extra: { authorizedParties?: readonly string[] } = {},
): Promise<void> {
  const validator = validatorFor(key, { audience, ...extra })
  const token = await mint(key, claims(payload))
  if (outcome === accept) {
    const auth = await validator.validate(token)
    const aud = payload.aud
    expect(auth.audience).toEqual(typeof aud === 'string' ? [aud] : aud)
  } else {
    expectFailure(await rejection(validator.validate(token)), outcome, 401)
  }
}

/**
 * The audience decision table, with ZITADEL-shaped values: P is the API's project id, C1 and C2
 * are client ids of two apps in that project (ZITADEL puts every app's client id and the project
 * id in `aud`). Lenient accepts when some `aud` value is trusted and every required one is there.
 * Strict also needs every value trusted and one that names this server (OWN), and then checks the
 * authorized party: `azp` and `client_id` equal when both are present, and one of them present
 * when `aud` has several values (OIDC Core 1.0 (2014) §3.1.3.7 rule 4; RFC 9068 §2.2 `client_id`).
 *
 * There is no separate `own` option: OWN is `audience.required` when non-empty, else every
 * trusted value. So the strict column expresses OWN = {P} as `required: [P]` whenever P is
 * trusted; the lenient column has nothing required. The permissive profile, so a missing
 * `client_id` does not fail first.
 */
const TABLE: readonly {
  row: string
  aud: unknown
  other: Record<string, unknown>
  trusted: readonly string[]
  lenient: string
  strict: string
}[] = [
  {
    row: 'sibling client ids untrusted',
    aud: [C1, C2, P],
    other: { client_id: C1 },
    trusted: [P],
    lenient: accept,
    strict: 'untrusted_audience',
  },
  {
    row: 'every value trusted',
    aud: [C1, C2, P],
    other: { client_id: C1 },
    trusted: [P, C1, C2],
    lenient: accept,
    strict: accept,
  },
  {
    row: 'several audiences, no authorized party',
    aud: [C1, C2, P],
    other: {},
    trusted: [P, C1, C2],
    lenient: accept,
    strict: 'unauthorized_party',
  },
  {
    row: 'azp differs from client_id',
    aud: [C1, C2, P],
    other: { client_id: C1, azp: C2 },
    trusted: [P, C1, C2],
    lenient: accept,
    strict: 'unauthorized_party',
  },
  {
    row: 'a machine token for the project only',
    aud: [P],
    other: { client_id: 'svc-user' },
    trusted: [P],
    lenient: accept,
    strict: accept,
  },
  {
    row: 'aud as a string',
    aud: P,
    other: { client_id: 'x' },
    trusted: [P],
    lenient: accept,
    strict: accept,
  },
  {
    row: 'co-audiences only',
    aud: [C1, C2],
    other: { client_id: C1 },
    trusted: [P, C1, C2],
    lenient: accept,
    strict: 'invalid_audience',
  },
  {
    row: 'an unknown audience',
    aud: ['999'],
    other: {},
    trusted: [P],
    lenient: 'invalid_audience',
    strict: 'invalid_audience',
  },
  {
    row: 'an empty list',
    aud: [],
    other: {},
    trusted: [P],
    lenient: 'invalid_audience',
    strict: 'invalid_audience',
  },
  {
    row: 'a trailing space: exact match',
    aud: [`${P} `],
    other: {},
    trusted: [P],
    lenient: 'invalid_audience',
    strict: 'invalid_audience',
  },
  {
    row: 'a trailing slash: exact match',
    aud: ['https://rs.example.com/'],
    other: {},
    trusted: ['https://rs.example.com'],
    lenient: 'invalid_audience',
    strict: 'invalid_audience',
  },
  {
    row: 'a member that is not a string',
    aud: [P, 42],
    other: {},
    trusted: [P],
    lenient: 'invalid_audience',
    strict: 'invalid_audience',
  },
]

/** A row as the table above writes it: P, C1 and C2 by name. */
function title({ row, aud, other, trusted, lenient, strict }: (typeof TABLE)[number]): string {
  const names: Record<string, string> = { [P]: 'P', [C1]: 'C1', [C2]: 'C2' }
  const show = (value: unknown): string =>
    Array.isArray(value)
      ? `[${value.map(show).join(',')}]`
      : typeof value === 'string'
        ? (names[value] ?? JSON.stringify(value))
        : String(value)
  const claimsText =
    Object.entries(other)
      .map(([name, value]) => `${name}:${show(value)}`)
      .join(', ') || 'no client_id, no azp'
  return `${row}: aud ${show(aud)}, ${claimsText}, TRUSTED {${trusted.map(show).join(',')}} → lenient ${lenient}, strict ${strict}`
}

describe('the audience modes (RFC 9068 §4, OIDC Core §3.1.3.7)', () => {
  it.each(TABLE.map((row) => [title(row), row] as const))(
    '%s',
    async (_, { aud, other, trusted, lenient, strict }) => {
      const payload = { aud, ...other }
      await expectOutcome(lenient, payload, { trusted, mode: 'lenient' })
      const own = trusted.includes(P) ? { required: [P] } : {}
      await expectOutcome(strict, payload, { trusted, mode: 'strict', ...own })
    },
  )

  it('strict with only P trusted: the description names the untrusted value C1', async () => {
    const validator = validatorFor(key, { audience: { trusted: [P], mode: 'strict' } })
    const error = await rejection(
      validator.validate(await mint(key, claims({ aud: [C1, C2, P], client_id: C1 }))),
    )
    expectFailure(error, 'untrusted_audience', 401)
    expect(error.description).toContain(C1)
    expect(error.description).not.toContain(C2)
  })

  it('the mode defaults to lenient (untrusted sibling client ids accepted without mode)', async () => {
    await expectOutcome(accept, { aud: [C1, C2, P], client_id: C1 }, { trusted: [P] })
  })

  it('strict without required: OWN is every trusted value, so co-audiences only are accepted', async () => {
    await expectOutcome(
      accept,
      { aud: [C1, C2], client_id: C1 },
      { trusted: [P, C1, C2], mode: 'strict' },
    )
  })

  it('strict: the first untrusted value is named, not a later one', async () => {
    const validator = validatorFor(key, { audience: { trusted: [P], mode: 'strict' } })
    const token = await mint(
      key,
      claims({ aud: [P, 'first-untrusted', 'second-untrusted'], client_id: C1 }),
    )
    const error = await rejection(validator.validate(token))
    expectFailure(error, 'untrusted_audience', 401)
    expect(error.description).toContain('first-untrusted')
    expect(error.description).not.toContain('second-untrusted')
  })

  it.each(['lenient', 'strict'] as const)(
    '%s: a token without aud is invalid_audience',
    async (mode) => {
      await expectOutcome('invalid_audience', { aud: undefined }, { trusted: [P], mode })
    },
  )
})

describe('audience.required: every value must be in aud, in either mode', () => {
  it.each(['lenient', 'strict'] as const)(
    '%s: a missing required value is invalid_audience naming it',
    async (mode) => {
      const validator = validatorFor(key, {
        audience: { trusted: [P, C1, C2], mode, required: [P] },
      })
      const error = await rejection(
        validator.validate(await mint(key, claims({ aud: [C1, C2], client_id: C1 }))),
      )
      expectFailure(error, 'invalid_audience', 401)
      expect(error.description).toContain(P)
    },
  )

  it('every required value must be present', async () => {
    const audience = { trusted: [P, C1], required: [P, C1] }
    await expectOutcome('invalid_audience', { aud: [P] }, audience)
    await expectOutcome(accept, { aud: [P, C1] }, audience)
  })

  it('a required value counts as trusted (strict, trusted list without it)', async () => {
    await expectOutcome(
      accept,
      { aud: [P, C1], client_id: C1 },
      { trusted: [C1], required: [P], mode: 'strict' },
    )
  })

  it('a required value counts as trusted with a predicate too (strict)', async () => {
    await expectOutcome(
      accept,
      { aud: [C1, C2, P], client_id: C1 },
      { trusted: (aud) => aud.endsWith('@portal'), required: [P], mode: 'strict' },
    )
  })
})

describe('audience.trusted as a predicate', () => {
  const trusted = (aud: string): boolean => aud === P || aud.endsWith('@portal')

  it.each([
    ['lenient', [C1, C2, P], accept],
    ['lenient', ['999'], 'invalid_audience'],
    ['strict', [C1, C2, P], accept],
    ['strict', [C1, P, '3@other'], 'untrusted_audience'],
    ['strict', ['999'], 'invalid_audience'],
  ] as const)('%s: aud %j → %s', async (mode, aud, outcome) => {
    await expectOutcome(outcome, { aud, client_id: C1 }, { trusted, mode })
  })

  it('the predicate sees each audience value', async () => {
    const seen: string[] = []
    const validator = validatorFor(key, {
      audience: {
        trusted: (aud) => {
          seen.push(aud)
          return aud === P
        },
        mode: 'strict',
      },
    })
    const error = await rejection(
      validator.validate(await mint(key, claims({ aud: [P, C1], client_id: C1 }))),
    )
    expectFailure(error, 'untrusted_audience', 401)
    expect(seen).toContain(P)
    expect(seen).toContain(C1)
  })
})

describe('authorizedParties on client_id ?? azp (RFC 9068 §2.2, OIDC Core §2)', () => {
  const audience = { trusted: [P] }
  it.each<[string, string, Record<string, unknown>]>([
    ['client_id allowed', accept, { client_id: C1 }],
    ['azp allowed (no client_id)', accept, { azp: C1 }],
    ['client_id not allowed', 'unauthorized_party', { client_id: C2 }],
    ['client_id decides over an allowed azp', 'unauthorized_party', { client_id: C2, azp: C1 }],
    ['neither client_id nor azp', 'unauthorized_party', {}],
  ])('%s → %s (both modes)', async (_, outcome, other) => {
    for (const mode of ['lenient', 'strict'] as const) {
      await expectOutcome(
        outcome,
        { aud: [P], ...other },
        { ...audience, mode },
        { authorizedParties: [C1] },
      )
    }
  })

  it('the description names the client that is not allowed', async () => {
    const validator = validatorFor(key, { audience: P, authorizedParties: [C1] })
    const error = await rejection(
      validator.validate(await mint(key, claims({ aud: P, client_id: 'rogue-client' }))),
    )
    expectFailure(error, 'unauthorized_party', 401)
    expect(error.description).toContain('rogue-client')
  })
})

// Lenient mode with several trusted values accepts a token addressed only to a co-audience, not to
// this server, which RFC 9068 §4 would reject: that configuration is allowed but warned about.
describe('lenient with several trusted values and no required warns once', () => {
  function spyLogger() {
    const warn = vi.fn<Logger['warn']>()
    const error = vi.fn<Logger['error']>()
    return { warn, error, logger: { warn, error } satisfies Logger }
  }

  it('logs exactly one warning through logger.warn when the validator is created', async () => {
    const { warn, error, logger } = spyLogger()
    const validator = validatorFor(key, { audience: [P, C1, C2], logger })
    expect(warn).toHaveBeenCalledTimes(1)
    expect(warn.mock.calls[0]?.[0]).toContain('audience.required')
    expect(error).not.toHaveBeenCalled()
    // A co-audience-only token is accepted (lenient), without further warnings.
    await validator.validate(await mint(key, claims({ aud: [C1, C2] })))
    expect(warn).toHaveBeenCalledTimes(1)
  })

  it.each<[string, string | readonly string[] | AudienceOptions]>([
    ['one trusted value', P],
    ['one trusted value (list)', [P]],
    ['required set', { trusted: [P, C1, C2], required: [P] }],
    ['strict mode', { trusted: [P, C1, C2], mode: 'strict' }],
  ])('does not warn with %s', (_, audience) => {
    const { warn, logger } = spyLogger()
    validatorFor(key, { audience, logger })
    expect(warn).not.toHaveBeenCalled()
  })
})
