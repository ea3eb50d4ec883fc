/* global performance */
// One autocannon run against a server, with latency kept in a 10 µs histogram (autocannon's own
// has 1 ms steps), and the helpers that give each connection its own list of requests.
import autocannon from 'autocannon'

const LATENCY_BUCKETS = 100_000
const latencies = new Uint32Array(LATENCY_BUCKETS)

/** The latency (ms) below which a fraction `q` of the answers of the last run came. */
function percentile(q) {
  let total = 0
  for (const n of latencies) total += n
  let seen = 0
  for (let i = 0; i < LATENCY_BUCKETS; i++) {
    seen += latencies[i]
    if (seen >= q * total && total > 0) return (i + 0.5) / 100
  }
  return NaN
}

/**
 * One run: connection i cycles through `lists[i]` (autocannon builds the requests once per
 * connection), for `seconds` or until `maxRequests` answers. Resolves autocannon's result plus
 * `seconds` (from autocannon's start, its clients built, to the last answer), `p50`, `p99` (ms).
 */
export function load(port, lists, seconds, maxRequests) {
  let connection = 0
  const options = {
    url: `http://127.0.0.1:${port}/`,
    connections: lists.length,
    duration: seconds,
    // autocannon acts on its stop condition (time up, request cap reached) at its sampling
    // ticks: 100 ms ticks keep runs within 0.1 s of what was asked.
    sampleInt: 100,
    timeout: 10,
    setupClient(client) {
      client.setRequests(lists[connection++ % lists.length])
    },
  }
  if (maxRequests !== undefined) options.maxOverallRequests = maxRequests
  latencies.fill(0)
  let start = 0
  let last = 0
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error, result) => {
      if (error) reject(error)
      else {
        const elapsed = (last - start) / 1000
        resolve({ ...result, seconds: elapsed, p50: percentile(0.5), p99: percentile(0.99) })
      }
    })
    instance.on('start', () => {
      start = performance.now()
    })
    instance.on('response', (_client, _status, _bytes, ms) => {
      last = performance.now()
      latencies[Math.min(LATENCY_BUCKETS - 1, Math.floor(ms * 100))]++
    })
  })
}

/** A GET / with `Authorization: <scheme> <token>` and any further headers. */
export function request(token, scheme = 'Bearer', headers = {}) {
  return { method: 'GET', path: '/', headers: { authorization: `${scheme} ${token}`, ...headers } }
}

/**
 * `items` split into `connections` consecutive parts (the shares autocannon's request cap uses):
 * every item once over all connections. With fewer items than connections, each connection gets
 * them all.
 */
export function split(items, connections) {
  if (items.length < connections) return Array.from({ length: connections }, () => items)
  const base = Math.floor(items.length / connections)
  const extra = items.length % connections
  return Array.from({ length: connections }, (_, i) => {
    const start = i * base + Math.min(i, extra)
    return items.slice(start, start + base + (i < extra ? 1 : 0))
  })
}

/** Each connection's first requests, `total` at most over all: what a bare framework cycles. */
export function firstOf(lists, total) {
  const each = Math.max(1, Math.ceil(total / lists.length))
  return lists.map((list) => list.slice(0, each))
}
