// What operators and test authors control: the clock every time check and cache use, and where
// warnings go (a console-style logger, a pino-style one, stderr by default, or none).
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createValidator, type Logger, type TokenwardEvent } from '@tokenward/core'
import { AUDIENCE, ISSUER, NOW, claims, createKey, mint, rejection } from './support/tokens.js'

afterEach(() => {
  vi.restoreAllMocks()
})

describe('the clock option drives every time check and cache', () => {
  it('a recorded token is valid at the time it was recorded, and expired later', async () => {
    const key = await createKey()
    const token = await mint(key, claims({ exp: NOW + 60 }))
    let now = (NOW + 30) * 1000
    const events: string[] = []
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [key.publicJwk] },
      clock: () => now,
      onEvent: (event) => {
        if (event.type === 'cache_hit' || event.type === 'cache_miss') events.push(event.type)
      },
    })
    expect((await validator.validate(token)).subject).toBe('user-1')
    expect((await validator.validate(token)).subject).toBe('user-1')
    expect(events).toEqual(['cache_miss', 'cache_hit'])
    // Past exp + the 5 s tolerance on the validator's clock, whatever the real time says.
    now = (NOW + 66) * 1000
    const error = await rejection(validator.validate(token))
    expect([error.code, error.status]).toEqual(['token_expired', 401])
  })

  it('is checked when the validator is created', () => {
    expect(() =>
      createValidator({ issuer: ISSUER, audience: AUDIENCE, clock: (() => 'now') as never }),
    ).toThrow('option "clock" must be a function returning the current time in ms')
  })
})

/** A validator for `issuer` with a static key, and the warnings its logger got. */
async function warned(issuer = ISSUER) {
  const key = await createKey()
  const warnings: string[] = []
  const validator = createValidator({
    issuer,
    audience: AUDIENCE,
    jwks: { keys: [key.publicJwk] },
    logger: { warn: (message) => warnings.push(message), error: () => undefined },
  })
  return { key, validator, warnings }
}

describe('logging: console style, pino style, stderr by default, false for none', () => {
  const lenientWithSeveral = { issuer: ISSUER, audience: [AUDIENCE, 'other'] }
  const WARNING =
    "tokenward: lenient audience with several trusted values and no audience.required accepts tokens addressed only to a co-audience; set audience.required to this API's own id"

  it('a console-style logger gets (message, meta)', () => {
    const calls: unknown[][] = []
    const logger: Logger = { warn: (...args) => calls.push(args), error: () => undefined }
    createValidator({ ...lenientWithSeveral, logger })
    expect(calls).toEqual([[WARNING, { option: 'audience' }]])
  })

  it('a pino-style logger (it has bindings()) gets (meta, message)', () => {
    const calls: unknown[][] = []
    const pino = {
      warn: (...args: unknown[]) => calls.push(args),
      error: () => undefined,
      bindings: () => ({}),
    }
    createValidator({ ...lenientWithSeveral, logger: pino })
    expect(calls).toEqual([[{ option: 'audience' }, WARNING]])
  })

  it('without a logger, warnings go to stderr; logger: false silences them', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    createValidator(lenientWithSeveral)
    expect(warn).toHaveBeenCalledWith(WARNING, { option: 'audience' })
    warn.mockClear()
    createValidator({ ...lenientWithSeveral, logger: false })
    expect(warn).not.toHaveBeenCalled()
  })

  it.each([
    ['a trailing slash the tokens lack', `${ISSUER}/`, ISSUER],
    ['no trailing slash, the tokens have one', ISSUER, `${ISSUER}/`],
  ])('warns once about an issuer with %s; each such token is 401', async (_name, issuer, iss) => {
    const { key, validator, warnings } = await warned(issuer)
    // A trailing slash is legal (Auth0's iss has one): nothing to say until a token disagrees.
    expect(warnings).toEqual([])
    for (const sub of ['a', 'b']) {
      const now = Math.floor(Date.now() / 1000)
      const token = await mint(key, claims({ iss, sub, iat: now, exp: now + 60 }))
      const error = await rejection(validator.validate(token))
      expect([error.code, error.status]).toEqual(['invalid_issuer', 401])
    }
    expect(warnings).toEqual([
      `tokenward: tokens name the issuer ${JSON.stringify(iss)} and the validator's issuer is ${JSON.stringify(issuer)}: iss must equal it exactly, so every such token is refused (invalid_issuer); set issuer to ${JSON.stringify(iss)} if that is your issuer`,
    ])
  })

  it('does not warn about a token from another issuer altogether', async () => {
    const { key, validator, warnings } = await warned()
    const now = Math.floor(Date.now() / 1000)
    const token = await mint(key, claims({ iss: 'https://evil.example', iat: now, exp: now + 60 }))
    expect((await rejection(validator.validate(token))).code).toBe('invalid_issuer')
    expect(warnings).toEqual([])
  })

  it('warns once when a role guard runs on a validator without roles', async () => {
    const { key, validator, warnings } = await warned()
    const auth = await validator.validate(
      await mint(key, claims({ exp: Date.now() / 1000 + 60, iat: Date.now() / 1000 })),
    )
    for (let i = 0; i < 3; i++) {
      expect(() => {
        validator.authorize(auth, { roles: ['admin'] })
      }).toThrow('lacks a required role')
    }
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain('the validator has no roles option')
  })

  it('an upstream outage is logged once, however many requests meet it', async () => {
    const errors: string[] = []
    const events: TokenwardEvent[] = []
    const validator = createValidator({
      issuer: 'http://127.0.0.1:9', // discard port: nothing listens
      audience: AUDIENCE,
      upstreamBackoff: { minSeconds: 0.001, maxSeconds: 0.001 },
      logger: { warn: (message) => errors.push(message), error: (message) => errors.push(message) },
      onEvent: (event) => events.push(event),
    })
    const key = await createKey()
    const token = await mint(
      key,
      claims({ iss: 'http://127.0.0.1:9', exp: Date.now() / 1000 + 60, iat: Date.now() / 1000 }),
    )
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5))
      expect((await rejection(validator.validate(token))).code).toBe('upstream_unavailable')
    }
    expect(events.filter((event) => event.type === 'upstream_failed')).toHaveLength(3)
    expect(errors).toHaveLength(1)
  })
})

describe('onEvent reports every decision with how long it took', () => {
  it('an accepted token: source, whether it was cached, issuer, subject and duration', async () => {
    const key = await createKey()
    const events: TokenwardEvent[] = []
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [key.publicJwk] },
      onEvent: (event) => events.push(event),
    })
    const now = Math.floor(Date.now() / 1000)
    const token = await mint(key, claims({ exp: now + 60, iat: now }))
    await validator.authenticate(`Bearer ${token}`)
    await validator.authenticate(`Bearer ${token}`)
    const accepted = events.filter((event) => event.type === 'authenticated')
    expect(accepted).toEqual([
      {
        type: 'authenticated',
        source: 'jwt',
        cached: false,
        issuer: ISSUER,
        subject: 'user-1',
        durationMs: expect.any(Number) as number,
      },
      {
        type: 'authenticated',
        source: 'jwt',
        cached: true,
        issuer: ISSUER,
        subject: 'user-1',
        durationMs: expect.any(Number) as number,
      },
    ])
    await validator.authenticate('Bearer a.b.c').catch(() => undefined)
    expect(events.at(-1)).toEqual({
      type: 'rejected',
      code: 'malformed_token',
      durationMs: expect.any(Number) as number,
    })
  })
})

describe('debug: a line per decision, switched on by the application', () => {
  async function decisions(debug: boolean | string, logger?: Logger | false): Promise<string[]> {
    const key = await createKey()
    const lines: string[] = []
    vi.spyOn(console, 'error').mockImplementation((line: string) => lines.push(line))
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [key.publicJwk] },
      debug,
      ...(logger === undefined ? {} : { logger }),
    })
    const now = Math.floor(Date.now() / 1000)
    const token = await mint(key, claims({ exp: now + 60, iat: now }))
    await validator.authenticate(`Bearer ${token}`)
    await validator.authenticate(`Bearer ${token}`)
    await validator.authenticate(`Bearer ${token}x`).catch(() => undefined)
    await validator.authenticate(undefined).catch(() => undefined)
    // Durations differ from run to run: the rest of each line is the contract.
    return lines.map((line) => line.replace(/\(\d+\.\d\d ms\)/, '(ms)'))
  }

  const EXPECTED = [
    'tokenward: 200 ok jwt (ms)',
    'tokenward: 200 ok jwt cached (ms)',
    'tokenward: 401 malformed_token (ms)',
    'tokenward: 401 missing_token (ms)',
  ]

  it.each([
    ['true', true],
    ["'tokenward' (DEBUG=tokenward)", 'tokenward'],
    ["'express:*,tokenward'", 'express:*,tokenward'],
    ["'tokenward:*'", 'tokenward:*'],
    ["'*'", '*'],
  ])('%s: each decision on stderr, without the token', async (_name, debug) => {
    const lines = await decisions(debug)
    expect(lines).toEqual(EXPECTED)
  })

  it.each([
    ['false', false],
    ["'' (DEBUG unset)", ''],
    ["'express:*'", 'express:*'],
    ["'*,-tokenward'", '*,-tokenward'],
  ])('%s: nothing', async (_name, debug) => {
    expect(await decisions(debug)).toEqual([])
  })

  it("goes to the logger's debug method when it has one (pino style: meta first)", async () => {
    const calls: unknown[][] = []
    const pino = {
      warn: () => undefined,
      error: () => undefined,
      debug: (...args: unknown[]) => calls.push(args),
      bindings: () => ({}),
    }
    expect(await decisions(true, pino)).toEqual([])
    expect(calls.map(([meta, line]) => [meta, String(line).replace(/\(.*\)/, '(ms)')])).toEqual(
      EXPECTED.map((line) => [{}, line]),
    )
  })

  it('is checked when the validator is created', () => {
    expect(() =>
      createValidator({ issuer: ISSUER, audience: AUDIENCE, debug: 1 as never }),
    ).toThrow(
      'option "debug" must be a boolean or a DEBUG-style list such as \'tokenward\' (the DEBUG variable)',
    )
  })
})
