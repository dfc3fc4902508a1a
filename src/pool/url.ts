/**
 * Splitting a request URL into the origin that picks a pool and the path sent on it,
 * PURE. The hot path slices the string once; the origin prefix is checked and
 * normalised through WHATWG `URL` only the first time it is seen (`Pools` caches it).
 *
 * @example
 * splitUrl("https://api.example.com/v1/chat?x=1#top"); // { prefix: "https://api.example.com", path: "/v1/chat?x=1" }
 * originOf("HTTPS://API.example.com:443"); // "https://api.example.com"
 */

/**
 * A URL split for dispatch.
 *
 * @example
 * const t: SplitUrl = { prefix: "http://127.0.0.1:8080", path: "/health" };
 */
export interface SplitUrl {
  /** Scheme and authority exactly as written (a cache key; normalise with {@link originOf}). */
  readonly prefix: string;
  /** Path and query, never empty, without the fragment. */
  readonly path: string;
}

/**
 * Splits `url` at the end of its authority. Throws a `TypeError` naming the URL when it
 * has no `scheme://`.
 *
 * @example
 * splitUrl("http://h:81?q"); // { prefix: "http://h:81", path: "/?q" }
 */
export function splitUrl(url: string): SplitUrl {
  const s = url.indexOf("://");
  if (s <= 0) throw new TypeError(`holdfast/pool: expected an absolute http(s) URL, got ${JSON.stringify(url)}`);
  let i = s + 3;
  for (; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */) break;
  }
  const prefix = url.slice(0, i);
  let rest = url.slice(i);
  const hash = rest.indexOf("#");
  if (hash !== -1) rest = rest.slice(0, hash);
  const path = rest === "" ? "/" : rest.charCodeAt(0) === 47 ? rest : `/${rest}`;
  return { prefix, path };
}

/**
 * Splits a WHATWG `URL`.
 *
 * @example
 * splitUrlObject(new URL("https://a.example/x?y")); // { prefix: "https://a.example", path: "/x?y" }
 */
export function splitUrlObject(url: URL): SplitUrl {
  if (url.username !== "" || url.password !== "") throw credentials(url.origin);
  return { prefix: url.origin, path: `${url.pathname}${url.search}` };
}

function credentials(origin: string): TypeError {
  return new TypeError(`holdfast/pool: credentials in the URL of ${origin} are not sent; use an Authorization header`);
}

/**
 * The normalised origin of a prefix (lower-case scheme and host, default port dropped).
 * Throws a `TypeError` for anything but http(s), credentials in the URL, or a prefix
 * that is not a URL.
 *
 * @example
 * originOf("http://LOCALHOST:80"); // "http://localhost"
 * originOf("ftp://x");            // TypeError: holdfast/pool: only http: and https: URLs are supported, got "ftp:"
 */
export function originOf(prefix: string): string {
  let u: URL;
  try {
    u = new URL(prefix);
  } catch {
    throw new TypeError(`holdfast/pool: not a valid URL: ${JSON.stringify(prefix)}`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new TypeError(`holdfast/pool: only http: and https: URLs are supported, got ${JSON.stringify(u.protocol)}`);
  }
  if (u.username !== "" || u.password !== "") throw credentials(u.origin);
  if (u.hostname === "") throw new TypeError(`holdfast/pool: no host in ${JSON.stringify(prefix)}`);
  return u.origin;
}
