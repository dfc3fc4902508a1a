/**
 * Server names to values (certificates, backends), the way TLS matches them: an exact
 * name first, then a wildcard `*.example.com`, which stands for exactly one more label
 * (`a.example.com`, not `example.com` nor `a.b.example.com`; RFC 6125 §6.4.3). Names
 * are lower case. The first value added for a name keeps it.
 *
 * @example
 * const t = new NameTable<string>();
 * t.add("*.example.com", "wild");
 * t.add("api.example.com", "api");
 * t.get("api.example.com"); // "api"
 * t.get("www.example.com"); // "wild"
 * t.get("example.com");     // undefined
 */
export class NameTable<T> {
  readonly #exact = new Map<string, T>();
  readonly #wildcard = new Map<string, T>();

  add(pattern: string, value: T): void {
    const p = pattern.toLowerCase();
    const map = p.startsWith("*.") ? this.#wildcard : this.#exact;
    const key = p.startsWith("*.") ? p.slice(2) : p;
    if (!map.has(key)) map.set(key, value);
  }

  get(name: string): T | undefined {
    const exact = this.#exact.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf(".");
    return dot > 0 ? this.#wildcard.get(name.slice(dot + 1)) : undefined;
  }

  get size(): number {
    return this.#exact.size + this.#wildcard.size;
  }
}

/**
 * The TLS alert a server sends when it has nothing for the name asked (`unrecognized_name`,
 * fatal; RFC 6066 §3, RFC 8446 §6): what a client shows as the reason.
 *
 * @example
 * socket.end(UNRECOGNIZED_NAME_ALERT);
 */
export const UNRECOGNIZED_NAME_ALERT: Readonly<Uint8Array> = Uint8Array.of(0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x70);
