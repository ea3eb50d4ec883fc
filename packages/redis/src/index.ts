/**
 * @tokenward/redis: a Redis cache of introspection answers and a DPoP replay store,
 * shared by every instance of an API.
 *
 * @packageDocumentation
 */
export {
  createRedisStore,
  type RedisClientLike,
  type RedisStore,
  type RedisStoreClientOptions,
  type RedisStoreOptions,
  type RedisStoreUrlOptions,
} from './store.js'
