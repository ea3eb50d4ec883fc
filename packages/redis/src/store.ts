/**
 * A `CacheStore` for `@tokenward/core` on Redis: introspection answers shared by every API
 * instance, so one token is introspected once, not once per instance. The same store is a
 * `ReplayStore`: DPoP proofs used on one instance are refused on every other (RFC 9449 §11.1).
 *
 * The store only moves opaque strings: the core hands it hashed keys (never a token) and JSON
 * answers. A store failure must cost a direct introspection, not a hung request, so a client this
 * module creates fails fast: no offline queue, a short command timeout, a capped reconnect delay.
 */
import { ConfigurationError, type CacheStore, type Logger, type ReplayStore } from '@tokenward/core'
import { Redis, type RedisOptions } from 'ioredis'

/**
 * The commands the store sends. An ioredis `Redis` or `Cluster` client (version 5 or 6) has them;
 * so can a wrapper of another client.
 */
export interface RedisClientLike {
  /** `GET key`: the value, or null when there is none. */
  get(key: string): Promise<string | null>
  /** `SET key value EX seconds`, and `SET key value EX seconds NX` (null when the key exists). */
  set(key: string, value: string, secondsToken: 'EX', seconds: number, nx?: 'NX'): Promise<unknown>
  /** `DEL key`. */
  del(key: string): Promise<number>
}

interface CommonOptions {
  /** Prepended to every key the core hands over. Default `'tokenward:'`. */
  readonly keyPrefix?: string
}

/** Use a client you own: the store never configures, connects or closes it. */
export interface RedisStoreClientOptions extends CommonOptions {
  readonly client: RedisClientLike
  readonly url?: never
}

/**
 * Let the store create (and close) its client. Every other ioredis option is passed through and
 * overrides the store's fail-fast defaults: `enableOfflineQueue: false`,
 * `maxRetriesPerRequest: 1`, `connectTimeout: 2000` and a reconnect delay of 50 ms doubling to
 * at most 2 s (it never gives up, so the cache comes back with Redis).
 */
export type RedisStoreUrlOptions = CommonOptions &
  Omit<RedisOptions, 'keyPrefix' | 'commandTimeout' | 'replyMapping'> & {
    /** `redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS. */
    readonly url: string
    readonly client?: never
    /**
     * Longest wait for one command (and, right after start, for the connection), ms. A slower
     * answer rejects, and the core introspects directly. Default 200.
     */
    readonly commandTimeoutMs?: number
    /**
     * Told once when the connection fails (again after each recovery), with the error's message.
     * It is never given a key or a value.
     */
    readonly logger?: Pick<Logger, 'warn'>
  }

/**
 * What {@link createRedisStore} returns: the introspection cache (`introspection.cache.store`)
 * and the DPoP replay store (`dpop.replay`), on one connection.
 */
export interface RedisStore extends CacheStore, ReplayStore {
  /** Closes a client the store created; a given `client` stays open. */
  close(): Promise<void>
}

/** Options of {@link createRedisStore}: an existing `client`, or a `url` to connect to. */
export type RedisStoreOptions = RedisStoreClientOptions | RedisStoreUrlOptions

/**
 * The ioredis options the store passes on. `replyMapping` only reshapes RESP3 maps and doubles,
 * which GET, SET and DEL never return.
 */
type ClientOptions = Omit<RedisOptions, 'keyPrefix' | 'replyMapping'>

/** The connection states of an ioredis client in which it is still setting up a connection. */
const STARTING = new Set(['wait', 'connecting', 'connect'])

/** Default of {@link RedisStoreUrlOptions.commandTimeoutMs}. */
const DEFAULT_COMMAND_TIMEOUT_MS = 200

/**
 * Creates a store on Redis for `introspection.cache.store` and `dpop.replay` of
 * `createValidator`.
 *
 * `set` stores with `SET key value EX ttl` (whole seconds; a TTL under one second is not stored),
 * `get` answers `undefined` for a missing key, `delete` is `DEL`. `claim` records a used DPoP
 * proof with `SET key 1 NX EX ttl` (the TTL rounded up, at least one second) and says whether it
 * was new: atomic in Redis, so of two instances given the same proof one wins. A failing
 * `claim` rejects, and the core refuses the request (503): a proof is never accepted unchecked.
 * `close()` closes a client the store created and leaves a given `client` open.
 *
 * @throws ConfigurationError (`invalid_config`) for a bad option.
 *
 * @example
 * ```ts
 * const store = createRedisStore({ url: 'redis://127.0.0.1:6379' })
 * const validator = createValidator({ issuer, audience, introspection: { auth, cache: { store } } })
 * ```
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  if (typeof options !== 'object' || (options as unknown) === null) {
    throw new ConfigurationError('createRedisStore', 'must be an object { url } or { client }')
  }
  const given = options as { readonly url?: unknown; readonly client?: unknown }
  if (given.url !== undefined && given.client !== undefined) {
    throw new ConfigurationError('createRedisStore', 'takes either url or client, not both')
  }
  const keyPrefix = options.keyPrefix ?? 'tokenward:'
  if (typeof keyPrefix !== 'string') {
    throw new ConfigurationError('createRedisStore.keyPrefix', 'must be a string')
  }
  if (options.client !== undefined) {
    const client = options.client
    if (
      typeof client !== 'object' ||
      (client as unknown) === null ||
      typeof client.get !== 'function' ||
      typeof client.set !== 'function' ||
      typeof client.del !== 'function'
    ) {
      throw new ConfigurationError(
        'createRedisStore.client',
        'must be an ioredis client (get, set and del)',
      )
    }
    return new Store(client, keyPrefix, undefined)
  }
  return createOwnedStore(options, keyPrefix)
}

function createOwnedStore(options: RedisStoreUrlOptions, keyPrefix: string): RedisStore {
  const { url, commandTimeoutMs = DEFAULT_COMMAND_TIMEOUT_MS, logger, ...rest } = options
  // The prefix is applied here, not by ioredis (whose own keyPrefix would apply it again).
  const redisOptions: ClientOptions & { keyPrefix?: unknown; client?: unknown } = { ...rest }
  delete redisOptions.keyPrefix
  delete redisOptions.client
  if (typeof url !== 'string' || !/^rediss?:\/\//i.test(url)) {
    throw new ConfigurationError(
      'createRedisStore.url',
      'must be a redis:// or rediss:// URL (or pass a client)',
    )
  }
  if (
    typeof commandTimeoutMs !== 'number' ||
    !Number.isInteger(commandTimeoutMs) ||
    commandTimeoutMs < 1 ||
    commandTimeoutMs > 60_000
  ) {
    throw new ConfigurationError(
      'createRedisStore.commandTimeoutMs',
      `must be an integer between 1 and 60000; got ${String(commandTimeoutMs)}`,
    )
  }
  if (logger !== undefined && typeof logger.warn !== 'function') {
    throw new ConfigurationError(
      'createRedisStore.logger',
      'must have a warn(message, meta) method',
    )
  }
  const clientOptions: ClientOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times - 1, 6), 2000),
    ...redisOptions,
    commandTimeout: commandTimeoutMs,
  }
  const client = new Redis(url, clientOptions)
  // Without a listener ioredis prints every failed reconnect; report each outage once instead.
  let reported = false
  client.on('error', (error: Error) => {
    if (reported) return
    reported = true
    logger?.warn('tokenward: Redis connection failed; the introspection cache store is skipped', {
      error: error.message,
    })
  })
  client.on('ready', () => {
    reported = false
  })
  return new Store(client, keyPrefix, { client, commandTimeoutMs })
}

/** A client the store created: it waits for it at start-up and closes it. */
interface Owned {
  readonly client: Redis
  readonly commandTimeoutMs: number
}

class Store implements RedisStore {
  #closing: Promise<void> | undefined

  constructor(
    private readonly client: RedisClientLike,
    private readonly keyPrefix: string,
    private readonly owned: Owned | undefined,
  ) {}

  async get(key: string): Promise<string | undefined> {
    await this.#usable()
    const value = await this.client.get(this.keyPrefix + key)
    return value ?? undefined
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    // EX takes whole seconds >= 1: an entry that would live less than a second is not worth a
    // round trip (the core's in-memory cache holds it).
    if (!Number.isFinite(ttlSeconds) || ttlSeconds < 1) return
    await this.#usable()
    await this.client.set(this.keyPrefix + key, value, 'EX', Math.floor(ttlSeconds))
  }

  async delete(key: string): Promise<void> {
    await this.#usable()
    await this.client.del(this.keyPrefix + key)
  }

  async claim(key: string, ttlSeconds: number): Promise<boolean> {
    // Rounded up: the record must outlive the proof's acceptance window, never expire before it.
    const seconds = Number.isFinite(ttlSeconds) ? Math.max(1, Math.ceil(ttlSeconds)) : 1
    await this.#usable()
    const answer = await this.client.set(this.keyPrefix + key, '1', 'EX', seconds, 'NX')
    return answer === 'OK'
  }

  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    const client = this.owned?.client
    if (client === undefined) return
    try {
      // QUIT lets Redis finish what was sent; it is bounded by the command timeout.
      if (client.status === 'ready') await client.quit()
    } catch {
      // The connection is gone already: nothing to flush.
    } finally {
      // Stops reconnecting and frees the socket whatever state the client was in.
      client.disconnect()
    }
  }

  /**
   * Rejects once closed. With the offline queue off, a command sent while the connection is
   * still being set up would fail at once, so right after start (or during a reconnect attempt)
   * the store waits for the connection, for at most the command timeout.
   */
  async #usable(): Promise<void> {
    if (this.#closing !== undefined) throw new Error('tokenward: the Redis store is closed')
    const owned = this.owned
    if (owned === undefined || !STARTING.has(owned.client.status)) return
    await waitForReady(owned.client, owned.commandTimeoutMs)
  }
}

/** Resolves when the client is ready, its attempt failed, or the time is up (the command then fails). */
function waitForReady(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'wait') {
    client.connect().catch(() => undefined)
  }
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer)
      client.off('ready', done)
      client.off('close', done)
      client.off('end', done)
      resolve()
    }
    const timer = setTimeout(done, timeoutMs)
    client.once('ready', done)
    client.once('close', done)
    client.once('end', done)
  })
}
