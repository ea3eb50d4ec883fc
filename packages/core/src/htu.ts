/**
 * The request URL a DPoP proof names (RFC 9449 §4.2 `htu`), in the form §4.3 compares: a pure
 * function of the URL text, shared by the proof check and `tokenward inspect`.
 */

/**
 * A URL as §4.3 compares `htu`: without query and fragment, after RFC 3986 §6.2.2 syntax-based
 * normalisation (case of scheme, host and percent-encodings; unreserved characters decoded; dot
 * segments removed) and §6.2.3 scheme-based normalisation (default port dropped, empty path
 * `/`). Undefined for anything but an absolute http(s) URL.
 */
export function normalizeHtu(value: string): string | undefined {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return undefined
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined
  // WHATWG URL parsing already lowercases the scheme and host, drops the default port and
  // removes dot segments; percent-encodings are left as written.
  const path = url.pathname.replace(/%[0-9A-Fa-f]{2}/g, (escape) => {
    const char = String.fromCharCode(parseInt(escape.slice(1), 16))
    return /[A-Za-z0-9\-._~]/.test(char) ? char : escape.toUpperCase()
  })
  const userinfo =
    url.username === '' && url.password === ''
      ? ''
      : `${url.username}${url.password === '' ? '' : `:${url.password}`}@`
  return `${url.protocol}//${userinfo}${url.host}${path}`
}
