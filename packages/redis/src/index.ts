/**
 * @tokenward/redis: a Redis cache of introspection answers shared by every instance of an API.
 *
 * @packageDocumentation
 */
export {
  createRedisStore,
  type RedisClientLike,
  type RedisStoreClientOptions,
  type RedisStoreOptions,
  type RedisStoreUrlOptions,
} from './store.js'
