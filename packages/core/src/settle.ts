/**
 * The one way the core waits: `next(value)` at once for a value, or once the promise settles.
 * Everything the core can answer without the network (a cached verdict, a known key) stays
 * synchronous through it; only a fetch, Web Crypto or an asynchronous store brings a promise.
 */
export function andThen<T, R>(
  value: T | Promise<T>,
  next: (value: T) => R | Promise<R>,
): R | Promise<R> {
  return value instanceof Promise ? value.then(next) : next(value)
}

/** A synchronous-or-promise answer as a promise: what it returns, or what it throws, rejected. */
export function promised<T>(answer: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(answer())
  } catch (error) {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passed on as thrown
    return Promise.reject(error)
  }
}
