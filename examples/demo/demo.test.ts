// `pnpm demo` without the build: the demo's entry, as a child process, against the built
// packages (`pnpm test` builds first). The tour must end with exit status 0 and show every
// step's answer; the serving mode must mint tokens, answer them, and stop cleanly on Ctrl-C.
import { afterAll, describe, expect, it } from 'vitest'
import { built, get, killAll, runExample } from '../support.js'

afterAll(killAll)

describe.skipIf(!built)('pnpm demo', () => {
  it('runs the tour with --once and exits 0', async () => {
    const demo = runExample('demo', 'demo.ts', ['--once'])
    const status = await Promise.race([
      demo.exited(),
      new Promise<'timeout'>((resolve) => {
        setTimeout(() => {
          resolve('timeout')
        }, 30_000).unref()
      }),
    ])
    const out = demo.output()
    expect(status, out).toBe(0)

    // Each step: status and code (the tour prints `← <status> <reason>  <code>`).
    expect(out).toMatch(
      /← 401 Unauthorized {2}missing_token\n {6}WWW-Authenticate: Bearer realm="api"\n/,
    )
    expect(out).toMatch(/← 200 OK\n.*"roles":\{"admin":\["170086363054473473"\],"reader":/)
    expect(out).toContain('← 403 Forbidden  insufficient_role')
    expect(out).toContain('← 401 Unauthorized  untrusted_audience')
    expect(out).toContain("'252856053933356542@billing' is not a trusted audience")
    expect(out).toMatch(/GET \/lenient\/me .*\n {4}← 200 OK/)
    expect(out).toMatch(/GET \/lenient\/admin .*\n {4}← 403 Forbidden {2}insufficient_role/)
    expect(out).toContain('← 401 Unauthorized  invalid_signature')
    expect(out).toContain('← 401 Unauthorized  token_expired')
    // The opaque token: introspected once, then answered from the cache.
    expect(out).toContain('"source":"introspection"')
    expect(out).toContain(
      'introspection requests so far: 1; onEvent: cache_miss (token), cache_miss (introspection)',
    )
    expect(out).toContain('introspection requests so far: 1; onEvent: cache_hit (token)')
    expect(out).toContain('All 13 answers as expected.')
    expect(out).not.toContain('✗')
    // Never a whole token: JWTs are shown as a 10-character prefix.
    expect(out).not.toMatch(/eyJ[\w-]{12,}/)
  }, 40_000)

  it('keeps serving: the printed mint endpoint and API answer, and SIGINT stops it with 0', async () => {
    const demo = runExample('demo', 'demo.ts', ['--port', '0'])
    await demo.waitFor(/--role admin\n/, 30_000)
    const out = demo.output()
    const api = /curl -i (http:\/\/127\.0\.0\.1:\d+)\/me +# 401 missing_token/.exec(out)?.[1]
    const minter = /Mint more at (http:\/\/127\.0\.0\.1:\d+)\/mint/.exec(out)?.[1]
    expect(api, out).toBeDefined()
    expect(minter, out).toBeDefined()
    expect(out).toContain(
      `export ALICE=$(curl -s -X POST '${minter}/mint?user=alice&roles=admin,reader')`,
    )

    const mint = async (query: string) => {
      const response = await fetch(`${minter}/mint?${query}`, { method: 'POST' })
      expect(response.status).toBe(200)
      return (await response.text()).trim()
    }
    const carol = await mint('user=carol&roles=reader,admin')
    expect((await get(`${api}/admin`, carol)).status).toBe(200)
    expect(
      (await get(`${api}/reports`, await mint('user=bob&roles=reader&org=globex'))).status,
    ).toBe(403)
    const dave = await mint('user=dave&roles=admin&project=billing')
    expect((await get(`${api}/me`, dave)).body).toMatchObject({ code: 'untrusted_audience' })
    expect((await get(`${api}/lenient/me`, dave)).status).toBe(200)
    const opaque = await get(`${api}/me`, await mint('user=report-bot&roles=reader&format=opaque'))
    expect(opaque.body).toMatchObject({
      source: 'introspection',
      roles: { reader: ['170086363054473473'] },
    })
    expect((await fetch(`${minter}/mint?org=nowhere`)).status).toBe(400)

    expect(await demo.stop('SIGINT')).toBe(0)
    expect(demo.output()).toContain('stopping')
    await expect(fetch(`${api}/me`)).rejects.toThrow()
  }, 40_000)
})
