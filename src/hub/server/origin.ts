/**
 * The browser `Origin` check of `/connect`, `/sse` and `/send` (DESIGN §6
 * `allowedOrigins`): a request without `Origin` (not a browser) passes; with one, it
 * must be in the list (`"*"` allows any) or, when the list is absent, name the hub's
 * own host (the request's `Host`).
 *
 * @example
 * originAllowed(undefined, "hub.example.com", ["https://app.example.com"]);        // true (no Origin)
 * originAllowed("https://evil.example", "hub.example.com", ["https://app.example.com"]); // false
 * originAllowed("http://localhost:7000", "localhost:7000", undefined);              // true (same host)
 */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[] | undefined): boolean {
  if (origin === undefined) return true;
  const o = origin.toLowerCase();
  if (allowed === undefined) {
    if (host === undefined || !URL.canParse(o)) return false;
    return new URL(o).host === host.toLowerCase();
  }
  return allowed.includes("*") || allowed.includes(o);
}
