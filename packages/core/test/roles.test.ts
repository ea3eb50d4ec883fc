// Roles and scopes: where roles come from (ZITADEL, Keycloak, scope, a claim, a function), how
// scopes are read (RFC 9068 §2.2.3), and the route requirements (403, RFC 6750 §3.1).
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  checkRequirements,
  createValidator,
  type AuthResult,
  type Requirements,
  type RolesOption,
} from '@tokenward/core'
import { startFaultServer, type FaultServer } from './support/fault-server.js'
import {
  ISSUER,
  NOW,
  claims,
  createKey,
  expectFailure,
  freezeTime,
  mint,
  rejection,
  thrown,
  validatorFor,
  type TestKey,
} from './support/tokens.js'

const P = '170086774599581953'
const APP1 = '170086824411201793@portal'
const ORG1 = '170086363054473473'
const ORG2 = '190957560872829185'
const GENERIC = 'urn:zitadel:iam:org:project:roles'
const projectClaim = (id: string): string => `urn:zitadel:iam:org:project:${id}:roles`

/**
 * The role claim of a real ZITADEL ID token (ZITADEL's user-metadata guide): role → { org id: org
 * domain }.
 */
const DEMO_ROLES = {
  reader: {
    [ORG1]: 'demo-customer.b2b-demo-rbxajm.zitadel.cloud',
    [ORG2]: 'demo-customer2.b2b-demo-rbxajm.zitadel.cloud',
  },
  'support:read': { [ORG1]: 'demo-customer.b2b-demo-rbxajm.zitadel.cloud' },
}

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

/** A ZITADEL-shaped JWT access token (`client_id`, a `V2_` jti, no `azp`) with `extra` claims. */
function zitadelToken(extra: Record<string, unknown>): Promise<string> {
  return mint(
    key,
    claims({
      aud: [APP1, P],
      client_id: APP1,
      jti: 'V2_1-at_2',
      sub: '170848145649959169',
      ...extra,
    }),
  )
}

function zitadelValidator(roles: RolesOption = { preset: 'zitadel', projectId: P }) {
  return validatorFor(key, { audience: { trusted: [APP1, P], required: [P] }, roles })
}

/** The roles of a token read by `roles`. */
async function rolesOf(
  roles: RolesOption,
  payload: Record<string, unknown>,
): Promise<AuthResult['roles']> {
  const auth = await validatorFor(key, { roles }).validate(await mint(key, claims(payload)))
  return auth.roles
}

describe('ZITADEL roles: the project role claim, role → { org id: org domain }', () => {
  it('maps the project role claim to role → org ids', async () => {
    const auth = await zitadelValidator().validate(
      await zitadelToken({ [projectClaim(P)]: DEMO_ROLES, [GENERIC]: DEMO_ROLES }),
    )
    expect(auth.roles).toEqual({ reader: [ORG1, ORG2], 'support:read': [ORG1] })
  })

  it.each<[string, string, Requirements['roles']]>([
    [
      "requireRoles('support:read', { org: ORG2 })",
      'insufficient_role',
      { allOf: ['support:read'], org: ORG2 },
    ],
    ["requireRoles('reader', { org: ORG2 })", 'pass', { allOf: ['reader'], org: ORG2 }],
    ["requireRoles('support:read', { org: ORG1 })", 'pass', { allOf: ['support:read'], org: ORG1 }],
  ])('%s → %s (validate and authorize)', async (_, outcome, roles) => {
    const validator = zitadelValidator()
    const token = await zitadelToken({ [projectClaim(P)]: DEMO_ROLES, [GENERIC]: DEMO_ROLES })
    const requirements = { roles } as Requirements
    const auth = await validator.validate(token)
    if (outcome === 'pass') {
      expect((await validator.validate(token, requirements)).subject).toBe(auth.subject)
      validator.authorize(auth, requirements)
    } else {
      expectFailure(await rejection(validator.validate(token, requirements)), outcome, 403)
      expectFailure(
        thrown(() => {
          validator.authorize(auth, requirements)
        }),
        outcome,
        403,
      )
    }
  })

  it('projectId 999 without trustGenericClaim: no roles, 403 insufficient_role', async () => {
    const validator = zitadelValidator({ preset: 'zitadel', projectId: '999' })
    const token = await zitadelToken({ [projectClaim(P)]: DEMO_ROLES, [GENERIC]: DEMO_ROLES })
    expect((await validator.validate(token)).roles).toEqual({})
    expectFailure(
      await rejection(validator.validate(token, { roles: ['reader'] })),
      'insufficient_role',
      403,
    )
  })

  it('the generic claim of a JWT is not read: admin elsewhere is not admin here', async () => {
    const token = await zitadelToken({
      [GENERIC]: { admin: { [ORG1]: 'other-project.example' } },
      [projectClaim(P)]: { reader: { [ORG1]: 'acme.example' } },
    })
    const validator = zitadelValidator()
    const auth = await validator.validate(token)
    expect(auth.roles).toEqual({ reader: [ORG1] })
    const error = await rejection(validator.validate(token, { roles: ['admin'] }))
    expectFailure(error, 'insufficient_role', 403)
  })

  it('the generic claim of a JWT is read with trustGenericClaim: true', async () => {
    const token = await zitadelToken({
      [GENERIC]: { admin: { [ORG1]: 'other-project.example' } },
      [projectClaim(P)]: { reader: { [ORG2]: 'acme.example' } },
    })
    const validator = zitadelValidator({ preset: 'zitadel', projectId: P, trustGenericClaim: true })
    const auth = await validator.validate(token, { roles: ['admin', 'reader'] })
    expect(auth.roles).toEqual({ admin: [ORG1], reader: [ORG2] })
  })

  it("roles: 'zitadel' reads the project of audience.required", async () => {
    const token = await zitadelToken({
      [projectClaim(P)]: DEMO_ROLES,
      [projectClaim('4711')]: { admin: {} },
    })
    const auth = await zitadelValidator('zitadel').validate(token)
    expect(auth.roles).toEqual({ reader: [ORG1, ORG2], 'support:read': [ORG1] })
  })

  it("profile 'zitadel' with audience.required reads the project roles by default", async () => {
    const validator = validatorFor(key, {
      profile: 'zitadel',
      audience: { trusted: [APP1, P], required: [P] },
    })
    const auth = await validator.validate(
      await zitadelToken({ [projectClaim(P)]: DEMO_ROLES, [GENERIC]: { admin: { [ORG1]: 'x' } } }),
    )
    expect(auth.roles).toEqual({ reader: [ORG1, ORG2], 'support:read': [ORG1] })
  })

  it('several project ids: their role claims are merged', async () => {
    const roles = await rolesOf(
      { preset: 'zitadel', projectId: [P, '4711'] },
      {
        [projectClaim(P)]: { reader: { [ORG1]: 'a' } },
        [projectClaim('4711')]: { reader: { [ORG2]: 'b' }, writer: { [ORG2]: 'b' } },
        [projectClaim('999')]: { admin: { [ORG1]: 'c' } },
      },
    )
    expect(roles).toEqual({ reader: [ORG1, ORG2], writer: [ORG2] })
  })

  it.each<[string, unknown]>([
    ['a role whose value is a string', { admin: 'acme.example' }],
    ['a number', 42],
    ['null', null],
  ])('%s: a malformed role claim counts as no role, 403 not 401', async (_, value) => {
    const validator = zitadelValidator()
    const token = await zitadelToken({ [projectClaim(P)]: value })
    expect((await validator.validate(token)).roles).toEqual({})
    expectFailure(
      await rejection(validator.validate(token, { roles: ['admin'] })),
      'insufficient_role',
      403,
    )
  })

  it('a ZITADEL role claim given as a list of names counts as no role', async () => {
    const validator = zitadelValidator()
    const token = await zitadelToken({ [projectClaim(P)]: ['admin'] })
    expectFailure(
      await rejection(validator.validate(token, { roles: ['admin'] })),
      'insufficient_role',
      403,
    )
  })

  describe('introspection answers describe this API’s project: the generic claim is read', () => {
    let server: FaultServer
    beforeAll(async () => {
      server = await startFaultServer()
    })
    afterAll(async () => {
      await server.close()
    })

    it('reads both the project and the generic claim of an active answer', async () => {
      server.setRoute('/introspect', {
        status: 200,
        body: {
          active: true,
          iss: ISSUER,
          sub: '170848145649959169',
          client_id: APP1,
          aud: [APP1, P],
          exp: NOW + 600,
          [GENERIC]: { admin: { [ORG1]: 'acme.example' } },
          [projectClaim(P)]: { reader: { [ORG2]: 'acme.example' } },
        },
      })
      const validator = createValidator({
        issuer: ISSUER,
        audience: { trusted: [APP1, P], required: [P] },
        roles: { preset: 'zitadel', projectId: P },
        introspection: {
          endpoint: `${server.url}/introspect`,
          auth: { method: 'client_secret_basic', clientId: 'api', clientSecret: 'secret' },
        },
      })
      const auth = await validator.validate('VjVxyCZmRmWYqd3_F5db9Pb9mHR5fqzhn', {
        roles: ['admin'],
      })
      expect(auth.source).toBe('introspection')
      expect(auth.roles).toEqual({ reader: [ORG2], admin: [ORG1] })
    })
  })
})

describe('Keycloak roles', () => {
  const keycloak = {
    realm_access: { roles: ['offline_access', 'admin'] },
    resource_access: { api: { roles: ['read', 'write'] }, billing: { roles: ['pay'] } },
  }

  it("'keycloak': realm roles, and client roles as client:role", async () => {
    const roles = await rolesOf('keycloak', keycloak)
    expect(Object.keys(roles).sort()).toEqual([
      'admin',
      'api:read',
      'api:write',
      'billing:pay',
      'offline_access',
    ])
    expect(roles.admin).toEqual([])
  })

  it("{ preset: 'keycloak', clientId }: that client's roles unprefixed", async () => {
    const roles = await rolesOf({ preset: 'keycloak', clientId: 'api' }, keycloak)
    expect(Object.keys(roles)).toEqual(
      expect.arrayContaining(['admin', 'offline_access', 'read', 'write']),
    )
    expect(roles).not.toHaveProperty('api:read')
  })
})

describe("'scope' roles", () => {
  it('the scopes are the roles', async () => {
    const roles = await rolesOf('scope', { scope: 'read write', scp: ['admin'] })
    expect(Object.keys(roles).sort()).toEqual(['admin', 'read', 'write'])
  })
})

describe('{ claim } roles', () => {
  const payload = {
    'https://example.com/roles': ['editor'],
    'a.b': ['dotted'],
    a: { b: ['nested'] },
    https: { '//example': { 'com/roles': ['wrong'] } },
  }

  it('a string is one exact claim name, dots included', async () => {
    expect(await rolesOf({ claim: 'https://example.com/roles' }, payload)).toEqual({ editor: [] })
    expect(await rolesOf({ claim: 'a.b' }, payload)).toEqual({ dotted: [] })
  })

  it('a list is a path into nested objects', async () => {
    expect(await rolesOf({ claim: ['a', 'b'] }, payload)).toEqual({ nested: [] })
    expect(await rolesOf({ claim: ['a', 'missing'] }, payload)).toEqual({})
  })

  it('a role → org ids map is kept', async () => {
    expect(await rolesOf({ claim: 'roles' }, { roles: { admin: [ORG1, ORG2] } })).toEqual({
      admin: [ORG1, ORG2],
    })
  })
})

describe('a function reads the roles', () => {
  it('gets the claims and may return names or a role map', async () => {
    const seen: unknown[] = []
    const reader = (c: Readonly<Record<string, unknown>>) => {
      seen.push(c.sub)
      return { admin: [String(c.org)] }
    }
    expect(await rolesOf(reader, { org: ORG1 })).toEqual({ admin: [ORG1] })
    expect(seen).toEqual(['user-1'])
    expect(await rolesOf(() => ['a', 'b'], {})).toEqual({ a: [], b: [] })
  })
})

describe('scopes from scope (a space-delimited string, RFC 9068 §2.2.3) and scp (list)', () => {
  it.each<[string, Record<string, unknown>, string[]]>([
    ['scope', { scope: 'read  write' }, ['read', 'write']],
    ['scp', { scp: ['read', 'write'] }, ['read', 'write']],
    [
      'both, without duplicates',
      { scope: 'read write', scp: ['admin', 'read'] },
      ['admin', 'read', 'write'],
    ],
    ['neither', {}, []],
  ])('%s', async (_, payload, scopes) => {
    const auth = await validatorFor(key).validate(await mint(key, claims(payload)))
    expect([...auth.scopes].sort()).toEqual(scopes)
  })

  it('missing scopes: insufficient_scope 403 whose challenge carries scope="<required>"', async () => {
    const validator = validatorFor(key)
    const token = await mint(key, claims({ scope: 'read' }))
    const error = await rejection(validator.validate(token, { scopes: ['read', 'write'] }))
    expectFailure(error, 'insufficient_scope', 403)
    expect(error.wwwAuthenticate()).toMatch(/, scope="read write"$/)
    const auth = await validator.validate(token, { scopes: ['read'] })
    expect(auth.scopes).toEqual(['read'])
  })

  it('scopes from scp satisfy a requirement', async () => {
    const auth = await validatorFor(key).validate(await mint(key, claims({ scp: ['write'] })), {
      scopes: ['write'],
    })
    expect(auth.scopes).toEqual(['write'])
  })
})

describe('role requirements: allOf, anyOf and org (403 insufficient_role, RFC 6750 §3.1)', () => {
  let auth: AuthResult
  let validator: ReturnType<typeof validatorFor>
  beforeEach(async () => {
    validator = validatorFor(key, { roles: { claim: 'roles' } })
    auth = await validator.validate(
      await mint(key, claims({ roles: { a: [ORG1], b: [ORG1, ORG2], c: [] } })),
    )
  })

  const pass = 'passes'
  const fail = 'insufficient_role'
  it.each<[string, string, Requirements]>([
    ['a plain list is all of them', pass, { roles: ['a', 'b'] }],
    ['a plain list with one missing', fail, { roles: ['a', 'x'] }],
    ['allOf', pass, { roles: { allOf: ['a', 'c'] } }],
    ['allOf with one missing', fail, { roles: { allOf: ['a', 'x'] } }],
    ['anyOf with one present', pass, { roles: { anyOf: ['x', 'b'] } }],
    ['anyOf with none present', fail, { roles: { anyOf: ['x', 'y'] } }],
    ['allOf and anyOf both met', pass, { roles: { allOf: ['a'], anyOf: ['x', 'c'] } }],
    ['allOf met, anyOf not', fail, { roles: { allOf: ['a'], anyOf: ['x'] } }],
    ['org: granted there', pass, { roles: { allOf: ['b'], org: ORG2 } }],
    ['org: granted elsewhere only', fail, { roles: { allOf: ['a'], org: ORG2 } }],
    ['org: a role granted in no organisation', fail, { roles: { anyOf: ['c'], org: ORG1 } }],
    ['anyOf with org', pass, { roles: { anyOf: ['a', 'b'], org: ORG2 } }],
    ['no roles required', pass, {}],
    ...['constructor', 'toString', '__proto__', 'hasOwnProperty'].map(
      (role): [string, string, Requirements] => [
        `a role named ${role} that is not granted`,
        fail,
        { roles: [role] },
      ],
    ),
  ])('%s → %s', async (_, outcome, requirements) => {
    const passes = outcome === pass
    if (passes) {
      validator.authorize(auth, requirements)
      expect((await validator.validate(auth.token, requirements)).roles).toEqual(auth.roles)
    } else {
      expectFailure(
        thrown(() => {
          validator.authorize(auth, requirements)
        }),
        'insufficient_role',
        403,
      )
      expectFailure(
        await rejection(validator.validate(auth.token, requirements)),
        'insufficient_role',
        403,
      )
    }
  })

  it.each(['constructor', 'toString', '__proto__', 'valueOf'])(
    'a caller-built role map (plain object) does not grant %s',
    (role) => {
      const plain = { ...auth, token: auth.token, roles: { reader: [] } } as AuthResult
      expectFailure(
        thrown(() => {
          validator.authorize(plain, { roles: [role] })
        }),
        'insufficient_role',
        403,
      )
      expectFailure(
        thrown(() => {
          checkRequirements({ scopes: [], roles: { reader: [] } }, { roles: { anyOf: [role] } })
        }),
        'insufficient_role',
        403,
      )
    },
  )

  it('authorization runs only after authentication: an expired token missing roles is 401', async () => {
    const token = await mint(key, claims({ roles: [], exp: NOW - 60, iat: NOW - 120 }))
    expectFailure(
      await rejection(validator.validate(token, { roles: ['admin'], scopes: ['x'] })),
      'token_expired',
      401,
    )
  })
})
