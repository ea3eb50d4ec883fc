// validation-rules.md Part 3: the lenient and strict audience modes, decision table 3.5 (TV-A),
// `audience.required` (R-F2), `authorizedParties` (R-F3) and the start-up warning (§3.4, §5.2).
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
 * Decision table 3.5. OWN = {P}: there is no separate `own` option (§5.2: OWN := required when
 * non-empty, else trusted), so the strict column expresses OWN = {P} as `required: [P]` whenever
 * P is trusted. The lenient column uses REQUIRED = ∅ as the table states. Permissive profile.
 */
const TV_A: readonly {
  row: string
  aud: unknown
  other: Record<string, unknown>
  trusted: readonly string[]
  lenient: string
  strict: string
}[] = [
  {
    row: 'A1',
    aud: [C1, C2, P],
    other: { client_id: C1 },
    trusted: [P],
    lenient: accept,
    strict: 'untrusted_audience',
  },
  {
    row: 'A2',
    aud: [C1, C2, P],
    other: { client_id: C1 },
    trusted: [P, C1, C2],
    lenient: accept,
    strict: accept,
  },
  {
    row: 'A3',
    aud: [C1, C2, P],
    other: {},
    trusted: [P, C1, C2],
    lenient: accept,
    strict: 'unauthorized_party',
  },
  {
    row: 'A4',
    aud: [C1, C2, P],
    other: { client_id: C1, azp: C2 },
    trusted: [P, C1, C2],
    lenient: accept,
    strict: 'unauthorized_party',
  },
  {
    row: 'A5',
    aud: [P],
    other: { client_id: 'svc-user' },
    trusted: [P],
    lenient: accept,
    strict: accept,
  },
  { row: 'A6', aud: P, other: { client_id: 'x' }, trusted: [P], lenient: accept, strict: accept },
  {
    row: 'A7',
    aud: [C1, C2],
    other: { client_id: C1 },
    trusted: [P, C1, C2],
    lenient: accept,
    strict: 'invalid_audience',
  },
  {
    row: 'A8',
    aud: ['999'],
    other: {},
    trusted: [P],
    lenient: 'invalid_audience',
    strict: 'invalid_audience',
  },
  {
    row: 'A9',
    aud: [],
    other: {},
    trusted: [P],
    lenient: 'invalid_audience',
    strict: 'invalid_audience',
  },
  {
    row: 'A10',
    aud: [`${P} `],
    other: {},
    trusted: [P],
    lenient: 'invalid_audience',
    strict: 'invalid_audience',
  },
  {
    row: 'A11',
    aud: ['https://rs.example.com/'],
    other: {},
    trusted: ['https://rs.example.com'],
    lenient: 'invalid_audience',
    strict: 'invalid_audience',
  },
  {
    row: 'A12',
    aud: [P, 42],
    other: {},
    trusted: [P],
    lenient: 'invalid_audience',
    strict: 'invalid_audience',
  },
]

/** A row as the spec writes it: P, C1 and C2 by name. */
function title({ row, aud, other, trusted, lenient, strict }: (typeof TV_A)[number]): string {
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

describe('Part 3.5 decision table (TV-A)', () => {
  it.each(TV_A.map((row) => [title(row), row] as const))(
    '%s',
    async (_, { aud, other, trusted, lenient, strict }) => {
      const payload = { aud, ...other }
      await expectOutcome(lenient, payload, { trusted, mode: 'lenient' })
      const own = trusted.includes(P) ? { required: [P] } : {}
      await expectOutcome(strict, payload, { trusted, mode: 'strict', ...own })
    },
  )

  it('A1 strict: the description names the untrusted value C1', async () => {
    const validator = validatorFor(key, { audience: { trusted: [P], mode: 'strict' } })
    const error = await rejection(
      validator.validate(await mint(key, claims({ aud: [C1, C2, P], client_id: C1 }))),
    )
    expectFailure(error, 'untrusted_audience', 401)
    expect(error.description).toContain(C1)
    expect(error.description).not.toContain(C2)
  })

  it('the mode defaults to lenient (A1 accepted without mode)', async () => {
    await expectOutcome(accept, { aud: [C1, C2, P], client_id: C1 }, { trusted: [P] })
  })

  it('§3.1 strict without required: OWN is every trusted value, so A7 is accepted', async () => {
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

describe('R-F2 audience.required', () => {
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

describe('§5.2 audience.trusted as a predicate', () => {
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

describe('R-F3 authorizedParties on client_id ?? azp', () => {
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

describe('§3.4 / §5.2 lenient with several trusted values and no required warns once', () => {
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
    // A co-audience-only token is accepted (A7 lenient), without further warnings.
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
