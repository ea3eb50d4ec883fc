// The scenarios of the HTTP benchmark: what each sends, what answer it expects, which frameworks
// run it by default, and the requests of each run ("supplies"). Settings come from run.mjs.
import { firstOf, request, split } from './load.mjs'
import { accessTokenHash, dpopClient } from './dpop.mjs'
import { claims, mintPool, opaqueToken, sign } from './tokens.mjs'

const EVERY = ['express', 'koa', 'fastify', 'hono', 'hono-bun']
const NODE = ['express', 'koa', 'fastify', 'hono']

/** The URL the DPoP servers are told they serve (`http.baseUrl`): every proof's `htu`. */
export const DPOP_BASE_URL = 'https://api.bench.test'

/**
 * name → { title, expect (status), tokenwardOnly (no peer does it: the bare frameworks and the
 * tokenward contenders only), frameworks (which run it when BENCH_CONTENDERS is not set) }.
 * The default frameworks keep `pnpm bench` under 10 minutes: Bun in `same` only, and the
 * scenarios that measure a cost of the core alone (an introspection, a Redis read, a DPoP proof)
 * on Fastify, the framework with the least cost of its own.
 */
export const SCENARIOS = {
  same: { title: 'same token', expect: 200, frameworks: EVERY },
  pool: { title: '1024-token pool', expect: 200, frameworks: NODE },
  bad: { title: 'bad signatures', expect: 401, frameworks: NODE },
  new: { title: 'every token new', expect: 200, frameworks: NODE },
  opaque: {
    title: 'opaque, one token',
    expect: 200,
    tokenwardOnly: true,
    frameworks: ['fastify'],
  },
  'opaque-pool': {
    title: 'opaque, 1024-token pool',
    expect: 200,
    tokenwardOnly: true,
    frameworks: NODE,
  },
  'opaque-cold': {
    title: 'opaque, every token new',
    expect: 200,
    tokenwardOnly: true,
    frameworks: ['fastify'],
  },
  redis: {
    title: 'opaque, Redis hit',
    expect: 200,
    tokenwardOnly: true,
    needsRedis: true,
    frameworks: ['fastify'],
  },
  dpop: {
    title: 'DPoP, fresh proof',
    expect: 200,
    tokenwardOnly: true,
    frameworks: ['fastify'],
  },
}

/**
 * The requests of a scenario. Two kinds:
 * - `fixed`: `lists`, one list per connection, cycled for the whole run; `prime`: whether the
 *   warm-up first sends every token once (a pool: the measured runs then meet full caches).
 * - `unique`: no request is sent twice to one server process. `lists(round)` (round: 'warm' or
 *   0…repeats-1) gives the connections their share of that round, and a run stops at its end;
 *   `bare(round)`: what a bare framework, which ignores tokens, cycles for the full time instead.
 *   `short`: a note when the share had to be cut.
 */
export async function prepareSupply(name, ctx) {
  const { settings, key, forger, issuer, audience, deadline } = ctx
  const connections = settings.connections
  const valid = (i) => sign(key, claims(issuer, audience, i))
  const fixed = (tokens) => ({
    kind: 'fixed',
    lists: split(
      tokens.map((t) => request(t)),
      connections,
    ),
    prime: tokens.length >= connections,
    count: tokens.length,
  })
  const opaquePool = () => Array.from({ length: settings.poolSize }, opaqueToken)
  switch (name) {
    case 'same':
      return fixed([await valid(0)])
    case 'pool':
      return fixed(await mintPool(settings.poolSize, (i) => valid(1 + i)))
    case 'bad':
      // Valid claims and the issuer's kid, signed by another key: forged signatures.
      return fixed(
        await mintPool(settings.poolSize, (i) => sign(forger, claims(issuer, audience, 1e5 + i))),
      )
    case 'opaque':
      return fixed([opaqueToken()])
    case 'opaque-pool':
    case 'redis':
      return fixed(opaquePool())
    case 'new':
      return newTokens(settings, valid, deadline)
    case 'opaque-cold':
      // Opaque tokens cost nothing to make: a fresh share for every run.
      return unique(settings, settings.coldRate, (count) =>
        split(
          Array.from({ length: count }, () => request(opaqueToken())),
          connections,
        ),
      )
    case 'dpop':
      return dpopSupply(settings, key, issuer, audience)
    default:
      throw new Error(`unknown scenario ${name}`)
  }
}

/** Run shares of `rate × duration` requests, a warm-up share of at most 5,000. */
function unique(settings, rate, make) {
  const perRun = Math.max(settings.connections, Math.ceil(settings.duration * rate))
  const warm = Math.max(settings.connections, Math.min(Math.ceil(settings.warmup * rate), 5000))
  return {
    kind: 'unique',
    perRun,
    lists: (round) => make(round === 'warm' ? warm : perRun, round),
    bare: async (round) => firstOf(await make(perRun, round), settings.poolSize),
  }
}

/**
 * Every token new. RS256 signing costs about 0.6 ms a token, too slow to mint per request: the
 * tokens are minted beforehand, bounded by BENCH_MINT_SECONDS, and each share goes to every
 * contender once (each server is its own process, so a token is still new to it).
 */
async function newTokens(settings, valid, deadline) {
  let perRun = Math.ceil(settings.duration * settings.newRate)
  const warm = Math.min(Math.ceil(settings.warmup * settings.newRate), 5000)
  const count = warm + settings.repeats * perRun
  const minted = await mintPool(count, (i) => valid(1_000_000 + i), { deadline })
  let short
  if (minted.length < count) {
    perRun = Math.floor((minted.length - Math.min(warm, minted.length / 4)) / settings.repeats)
    short = `Every-token-new pool cut to ${minted.length} tokens by BENCH_MINT_SECONDS=${settings.mintSeconds}: runs stop after ${perRun} requests.`
  }
  const warmCount = minted.length - settings.repeats * perRun
  const share = (round) =>
    round === 'warm'
      ? minted.slice(0, warmCount)
      : minted.slice(warmCount + round * perRun, warmCount + (round + 1) * perRun)
  const lists = (round) =>
    split(
      share(round).map((t) => request(t)),
      settings.connections,
    )
  return {
    kind: 'unique',
    perRun,
    short,
    lists,
    bare: (round) => lists(round).map((list) => list.slice(0, settings.poolSize)),
  }
}

/**
 * DPoP (RFC 9449): one client key and one bound token (`cnf.jkt`, §6.1) per connection, and a
 * fresh proof for every request (§4.2: its own `jti`, `htm` GET, `htu` the servers' base URL,
 * `ath` of the token). Proofs are signed per run, just before it (their `iat` must be recent):
 * the shares of one round go to every contender of the round.
 */
function dpopSupply(settings, key, issuer, audience) {
  const connections = settings.connections
  const clients = Array.from({ length: connections }, () => dpopClient())
  let bound
  const tokens = async () => {
    bound ??= await Promise.all(
      clients.map((client, i) =>
        sign(key, { ...claims(issuer, audience, 2e6 + i), cnf: { jkt: client.jkt } }),
      ),
    )
    return bound
  }
  const signed = new Map() // round → lists, kept for the round's contenders
  const make = async (count, round) => {
    if (round !== 'warm' && signed.has(round)) return signed.get(round)
    const list = await tokens()
    const each = Math.ceil(count / connections)
    const lists = clients.map((client, i) => {
      const athHash = accessTokenHash(list[i])
      return Array.from({ length: each }, () =>
        request(list[i], 'DPoP', {
          dpop: client.proof({ method: 'GET', url: `${DPOP_BASE_URL}/`, athHash }),
        }),
      )
    })
    if (round !== 'warm') {
      signed.clear()
      signed.set(round, lists)
    }
    return lists
  }
  return unique(settings, settings.dpopRate, make)
}
