// The public API: the AuthResult a validated token resolves to.
import { inspect } from 'node:util'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import type { AuthResult } from '@tokenward/core'
import {
  AUDIENCE,
  ISSUER,
  NOW,
  claims,
  createKey,
  freezeTime,
  mint,
  validatorFor,
  type TestKey,
} from './support/tokens.js'

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

async function resultOf(
  payload: Record<string, unknown>,
): Promise<{ auth: AuthResult; token: string }> {
  const token = await mint(key, claims(payload))
  const validator = validatorFor(key, { audience: [AUDIENCE, 'other'], roles: { claim: 'roles' } })
  return { auth: await validator.validate(token), token }
}

describe('AuthResult shape', () => {
  it('a JWT: source, issuer, audience list, scopes, roles, claims and expiresAt', async () => {
    const { auth } = await resultOf({
      aud: [AUDIENCE, 'other'],
      client_id: 'client-a',
      scope: 'read write',
      roles: { admin: ['org-1'] },
      exp: NOW + 600,
    })
    expect(auth.source).toBe('jwt')
    expect(auth.issuer).toBe(ISSUER)
    expect(auth.audience).toEqual([AUDIENCE, 'other'])
    expect(auth.scopes).toEqual(['read', 'write'])
    expect(auth.roles).toEqual({ admin: ['org-1'] })
    expect(auth.claims.client_id).toBe('client-a')
    expect(auth.expiresAt).toEqual(new Date((NOW + 600) * 1000))
  })

  it('a string aud becomes a one-element audience list', async () => {
    const { auth } = await resultOf({ aud: AUDIENCE })
    expect(auth.audience).toEqual([AUDIENCE])
  })

  it.each<[string, Record<string, unknown>, string | undefined, string | undefined]>([
    ['sub and client_id', { sub: 'user-1', client_id: 'client-a' }, 'user-1', 'client-a'],
    [
      'client_id only (a machine token)',
      { sub: undefined, client_id: 'client-a' },
      'client-a',
      'client-a',
    ],
    ['azp only', { sub: 'user-1', azp: 'client-b' }, 'user-1', 'client-b'],
    [
      'client_id and azp',
      { sub: undefined, client_id: 'client-a', azp: 'client-a' },
      'client-a',
      'client-a',
    ],
    ['neither', { sub: undefined }, undefined, undefined],
  ])(
    '%s: subject = sub ?? client_id, clientId = client_id ?? azp',
    async (_, payload, subject, clientId) => {
      const { auth } = await resultOf(payload)
      expect({ subject: auth.subject, clientId: auth.clientId }).toEqual({ subject, clientId })
    },
  )

  it('no scope claim and no roles: empty lists and an empty role map', async () => {
    const { auth } = await resultOf({})
    expect(auth.scopes).toEqual([])
    expect(auth.roles).toEqual({})
  })
})

describe('AuthResult.token is present but not enumerable', () => {
  it('is the token, and absent from keys, spreads, JSON and inspection', async () => {
    const { auth, token } = await resultOf({})
    expect(auth.token).toBe(token)
    expect(Object.keys(auth)).not.toContain('token')
    expect(Object.getOwnPropertyDescriptor(auth, 'token')?.enumerable).toBe(false)
    expect(JSON.stringify(auth)).not.toContain(token)
    expect(JSON.stringify(auth)).not.toContain(token.split('.')[2])
    expect({ ...auth }).not.toHaveProperty('token')
    expect(inspect(auth, { depth: 5 })).not.toContain(token)
  })
})

describe('AuthResult is frozen', () => {
  it('the result, its claims, audience, scopes and roles cannot be changed', async () => {
    const { auth } = await resultOf({
      scope: 'read',
      roles: { admin: ['org-1'] },
      nested: { a: [1] },
    })
    expect(Object.isFrozen(auth)).toBe(true)
    expect(Object.isFrozen(auth.claims)).toBe(true)
    expect(Object.isFrozen(auth.claims.nested)).toBe(true)
    expect(Object.isFrozen(auth.audience)).toBe(true)
    expect(Object.isFrozen(auth.scopes)).toBe(true)
    expect(Object.isFrozen(auth.roles)).toBe(true)
    expect(Object.isFrozen(auth.roles.admin)).toBe(true)
    const mutable = auth as unknown as Record<string, unknown>
    expect(() => {
      mutable.subject = 'admin'
    }).toThrow(TypeError)
    expect(() => {
      mutable.token = 'other'
    }).toThrow(TypeError)
    expect(() => {
      ;(auth.roles as Record<string, string[]>).root = []
    }).toThrow(TypeError)
    expect(() => {
      ;(auth.scopes as string[]).push('admin')
    }).toThrow(TypeError)
    expect(auth.subject).toBe('user-1')
  })

  it('a result from the token cache is the same frozen result', async () => {
    const token = await mint(key, claims({ roles: ['admin'] }))
    const validator = validatorFor(key, { roles: { claim: 'roles' } })
    const first = await validator.validate(token)
    const second = await validator.validate(token)
    expect(second).toEqual(first)
    expect(second.token).toBe(token)
    expect(Object.isFrozen(second)).toBe(true)
  })
})
