// Minimal ambient types for the parts of `oidc-provider` (v9, ships no TypeScript types) that the
// test harness uses. Configuration hooks are typed at their use site in issuer.ts.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http'

  export type Configuration = Record<string, unknown>

  export class Provider {
    constructor(issuer: string, configuration?: Configuration)
    readonly issuer: string
    /** Koa: trust X-Forwarded-* headers. */
    proxy: boolean
    /** Koa: do not log unhandled errors to stderr. */
    silent: boolean
    /** Koa: a Node.js request listener for this provider. */
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>
    on(event: string, listener: (...args: unknown[]) => void): this
    urlFor(name: string): string
  }

  export default Provider
}
