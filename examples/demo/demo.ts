// `pnpm demo`: starts an OpenID Provider on 127.0.0.1 that mints ZITADEL-shaped tokens (the
// test harness's real oidc-provider), an Express API protected by @tokenward/express, runs the
// tour, then keeps serving and prints curl commands. `--once` stops after the tour (exit status
// 0 when every answer was the expected one). Ctrl-C stops everything.
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'
import type { TokenwardEvent } from '@tokenward/core'
import { startIssuer, type TestIssuer } from '../../test/support/issuer.js'
import { createApi } from './api.js'
import { ACME, BILLING, GLOBEX, SHOP, mint, type MintOptions, type Org } from './cast.js'
import { runTour, tourSteps } from './tour.js'

interface Server {
  readonly url: string
  close(): Promise<void>
}

/** Listens on 127.0.0.1:`port`, or on a free port when that one is taken (or `port` is 0). */
async function serve(handler: http.RequestListener, port: number): Promise<Server> {
  const server = http.createServer(handler)
  const listenOn = (p: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(p, '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
  try {
    await listenOn(port)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error
    await listenOn(0)
  }
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve()
        })
        server.closeAllConnections()
      }),
  }
}

/**
 * `POST /mint?user=carol&roles=reader,admin&org=globex&format=opaque&project=billing`: a fresh
 * token as text/plain. Roles are granted in Acme unless `org=globex`; `project=billing` makes a
 * token from billing's app that asked for shop's audience too.
 */
function mintHandler(issuer: TestIssuer): http.RequestListener {
  const orgs: Record<string, Org> = { acme: ACME, globex: GLOBEX }
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (url.pathname !== '/mint' || (req.method !== 'POST' && req.method !== 'GET')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('try POST /mint?roles=admin\n')
      return
    }
    const q = url.searchParams
    const org = orgs[(q.get('org') ?? 'acme').toLowerCase()]
    const format = q.get('format') ?? 'jwt'
    if (org === undefined || (format !== 'jwt' && format !== 'opaque')) {
      res
        .writeHead(400, { 'content-type': 'text/plain' })
        .end('org is acme or globex; format is jwt or opaque\n')
      return
    }
    const options: MintOptions = {
      user: q.get('user') ?? 'alice',
      roles: (q.get('roles') ?? '').split(',').filter((role) => role !== ''),
      org,
      format,
      ...(q.get('project') === 'billing' ? { project: BILLING, extraAudience: [SHOP.id] } : {}),
    }
    mint(issuer, options).then(
      (token) => res.writeHead(200, { 'content-type': 'text/plain' }).end(`${token}\n`),
      (error: unknown) =>
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`),
    )
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { once: { type: 'boolean' }, port: { type: 'string' } },
  })
  const once = values.once === true
  // --once needs no fixed port; otherwise 3000 (API) and 3001 (mint), or free ones if taken.
  const port = Number(values.port ?? (once ? 0 : 3000))
  if (!Number.isInteger(port) || port < 0 || port > 65534) throw new Error('--port takes a port')
  const colour = process.stdout.isTTY && process.env.NO_COLOR === undefined
  const write = (line: string) => {
    process.stdout.write(`${line}\n`)
  }

  const stops: (() => Promise<void>)[] = []
  const stop = async () => {
    for (const close of stops.reverse()) await close()
  }
  try {
    const issuer = await startIssuer({ accessTokenTtlSeconds: 3600 })
    stops.push(() => issuer.close())
    const events: TokenwardEvent[] = []
    const api = createApi({
      issuer: issuer.issuer,
      introspection: issuer.introspectionClients.basic,
      onEvent: (event) => events.push(event),
    })
    stops.push(() => api.close())
    const apiServer = await serve(api.app, port)
    stops.push(() => apiServer.close())
    const mintServer = await serve(mintHandler(issuer), port === 0 ? 0 : port + 1)
    stops.push(() => mintServer.close())

    write('tokenward demo: an API protected by @tokenward/express, tokens from a local issuer')
    write(`  issuer  ${issuer.issuer}  (oidc-provider minting ZITADEL-shaped tokens)`)
    write(`  api     ${apiServer.url}  strict audience: ${[SHOP.id, ...SHOP.apps].join(', ')}`)
    write(`          ${apiServer.url}/lenient  the same routes, lenient (aud must name ${SHOP.id})`)
    write(`  ids     project shop ${SHOP.id}, its apps ${SHOP.apps.join(', ')};`)
    write(`          project billing ${BILLING.id}; orgs Acme ${ACME.id}, Globex ${GLOBEX.id}`)

    const steps = await tourSteps(issuer)
    const unexpected = await runTour(steps, {
      issuer,
      api: apiServer.url,
      events,
      write,
      colour,
    })
    write('')
    write(
      unexpected === 0
        ? `All ${steps.length} answers as expected.`
        : `${unexpected} of ${steps.length} answers were not the expected ones.`,
    )
    if (once) return unexpected === 0 ? 0 : 1

    printTryIt(issuer, apiServer.url, mintServer.url, write)
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
    write('\nstopping')
    return 0
  } finally {
    await stop()
  }
}

/** `command  # comment` lines with the comments in one column. */
function aligned(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...rows.map(([command]) => command.length))
  return rows.map(([command, comment]) => `  ${command.padEnd(width)}  # ${comment}`)
}

/** The copy-paste part: tokens come fresh from the mint endpoint when the commands run. */
function printTryIt(
  issuer: TestIssuer,
  api: string,
  minter: string,
  write: (line: string) => void,
): void {
  const mintCommand = (query: string) => `$(curl -s -X POST '${minter}/mint?${query}')`
  const curl = (path: string, variable: string) =>
    `curl -i ${api}${path} -H "Authorization: Bearer $${variable}"`
  const lines = [
    '',
    'The demo keeps serving; Ctrl-C stops it. In another terminal:',
    '',
    `  export ALICE=${mintCommand('user=alice&roles=admin,reader')}`,
    `  export BOB=${mintCommand('user=bob&roles=reader')}`,
    `  export DAVE=${mintCommand('user=dave&roles=admin&project=billing')}`,
    `  export BOT=${mintCommand('user=report-bot&roles=reader&format=opaque')}`,
    '',
    ...aligned([
      [`curl -i ${api}/me`, '401 missing_token'],
      [curl('/me', 'ALICE'), '200, her roles'],
      [curl('/admin', 'BOB'), '403 insufficient_role'],
      [curl('/me', 'DAVE'), '401 untrusted_audience'],
      [curl('/lenient/me', 'DAVE'), '200 (lenient)'],
      [curl('/lenient/admin', 'DAVE'), '403: admin in billing only'],
      [curl('/reports', 'BOT'), '200: introspected, then cached'],
    ]),
    '',
    `Mint more at ${minter}/mint (POST or GET; the answer is the token):`,
    '  user=<name or id>  roles=a,b (granted in Acme)  org=globex  format=opaque',
    "  project=billing (an app of another project that asked for shop's audience too)",
    '',
    'Why was a token rejected? From the repository root:',
    '',
    `  node packages/cli/dist/cli.js inspect "$DAVE" --issuer ${issuer.issuer} \\`,
    `    ${[SHOP.id, ...SHOP.apps].map((id) => `--audience ${id}`).join(' ')} --strict \\`,
    `    --roles zitadel --project-id ${SHOP.id} --role admin`,
  ]
  for (const line of lines) write(line)
}

main().then(
  (status) => {
    process.exitCode = status
    // Everything is closed; do not let a stray keep-alive socket hold the process.
    setTimeout(() => process.exit(status), 1000).unref()
  },
  (error: unknown) => {
    process.stderr.write(
      `demo: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    )
    process.exit(1)
  },
)
