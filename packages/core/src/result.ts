/**
 * The {@link AuthResult} of an accepted token: what a route reads. It is frozen all the way
 * down, so no handler can change what another one sees, and the token itself is not enumerable,
 * so logging the result never prints it.
 */
import { clientOf } from './audience.js'
import type { RoleReader } from './roles.js'
import { readScopes } from './roles.js'
import type { AuthResult, Claims } from './types.js'

/** Builds the frozen result; `audience` is the checked `aud` list. */
export function buildResult(
  token: string,
  source: 'jwt' | 'introspection',
  claims: Claims,
  issuer: string,
  audience: readonly string[],
  roles: RoleReader,
): AuthResult {
  const clientId = clientOf(claims)
  const sub = claims.sub
  const exp = claims.exp
  const result: Record<string, unknown> = {
    source,
    claims: deepFreeze(claims),
    subject: typeof sub === 'string' ? sub : clientId,
    clientId,
    issuer,
    audience: Object.freeze([...audience]),
    scopes: Object.freeze(readScopes(claims)),
    roles: deepFreeze(roles(claims, source)),
  }
  if (typeof exp === 'number') result.expiresAt = new Date(exp * 1000)
  Object.defineProperty(result, 'token', { value: token, enumerable: false })
  return Object.freeze(result) as unknown as AuthResult
}

function deepFreeze<T>(value: T): T {
  // Iterative: claims from a signed token may still be nested deeper than the call stack.
  const pending: unknown[] = [value]
  while (pending.length > 0) {
    const item = pending.pop()
    if (typeof item === 'object' && item !== null && !Object.isFrozen(item)) {
      Object.freeze(item)
      for (const key in item) {
        const member = (item as Record<string, unknown>)[key]
        if (typeof member === 'object' && member !== null) pending.push(member)
      }
    }
  }
  return value
}
