// The API the demo protects: this is the part you would write. Two validators over one issuer:
// the strict one guards the API, a lenient one guards the same routes under /lenient, so the
// tour can show what each accepts.
import { createValidator, type TokenwardEvent, type Validator } from '@tokenward/core'
import { requireRoles, tokenward } from '@tokenward/express'
import express from 'express'
import { ACME, SHOP } from './cast.js'

export interface ApiOptions {
  /** The issuer URL (exact `iss`). */
  readonly issuer: string
  /** This API's introspection credentials at the issuer (client_secret_basic), for opaque tokens. */
  readonly introspection: { readonly clientId: string; readonly clientSecret: string }
  /** Metrics hook: cache hits and misses, rejections by code, upstream failures. */
  readonly onEvent?: (event: TokenwardEvent) => void
}

export interface Api {
  readonly app: express.Express
  readonly strict: Validator
  readonly lenient: Validator
  close(): Promise<void>
}

export function createApi(options: ApiOptions): Api {
  const common = {
    issuer: options.issuer,
    // The role claim of this API's project only: urn:zitadel:iam:org:project:{SHOP.id}:roles.
    roles: { preset: 'zitadel', projectId: SHOP.id },
    introspection: {
      auth: { method: 'client_secret_basic', ...options.introspection },
      cache: { ttlSeconds: 60 },
    },
    ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
  } as const

  // Strict (OIDC Core 3.1.3.7): every aud value must be trusted. ZITADEL puts every app client id
  // of the project in aud, so the trust list names the project id and each sibling app.
  const strict = createValidator({
    ...common,
    audience: { trusted: [SHOP.id, ...SHOP.apps], mode: 'strict', required: [SHOP.id] },
  })
  // Lenient (RFC 7519): this API's project id must be in aud; other values are ignored.
  const lenient = createValidator({
    ...common,
    audience: { trusted: [SHOP.id], mode: 'lenient', required: [SHOP.id] },
  })

  const me: express.RequestHandler = (req, res) => {
    const { subject, clientId, roles, scopes, source } = req.auth
    res.json({ subject, clientId, roles, scopes, source })
  }
  const admin: express.RequestHandler = (req, res) => {
    res.json({ admin: req.auth.subject })
  }

  const lenientApi = express.Router()
  lenientApi.use(tokenward(lenient))
  lenientApi.get('/me', me)
  lenientApi.get('/admin', requireRoles('admin'), admin)

  const strictApi = express.Router()
  strictApi.use(tokenward(strict))
  strictApi.get('/me', me) // any valid token
  strictApi.get('/admin', requireRoles('admin'), admin)
  // reader, granted in the Acme organisation (a reader of another organisation gets 403)
  strictApi.get('/reports', requireRoles('reader', { org: ACME.id }), (_req, res) => {
    res.json({ org: ACME.name, reports: ['2026-q1.pdf', '2026-q2.pdf'] })
  })

  const app = express()
  app.use('/lenient', lenientApi)
  app.use(strictApi)

  return {
    app,
    strict,
    lenient,
    async close() {
      await Promise.all([strict.close(), lenient.close()])
    },
  }
}
