import { readFileSync } from "node:fs";
import type { Socket } from "node:net";
import { createSecureContext, createServer, type SecureContext, type Server, type TLSSocket } from "node:tls";
import type { HttpListenerConfig, ListenerTls } from "../../config/types.ts";
import { NameTable } from "../../codec/tls/server-name.ts";
import type { Logger } from "../../log.ts";
import type { TicketKeys } from "./tickets.ts";

/**
 * TLS termination for one http listener (`node:tls`, OpenSSL underneath). Sockets the
 * listener accepts are handed to {@link TlsFront.accept}; once the handshake is done,
 * `onSecure` gets the TLS socket, which the HTTP session uses like a plain one.
 * Certificates are chosen by SNI (exact name, then wildcard, then the default), session
 * tickets come from the shared {@link TicketKeys}, and ALPN offers what `protocols` says.
 *
 * A reload builds the new certificates first ({@link TlsFront.prepare}, which throws on
 * a broken file) and swaps them in with {@link TlsFront.apply}: new handshakes use them,
 * established connections keep theirs.
 *
 * @example
 * const front = new TlsFront(cfg, tickets, newListenerCounters(), (s) => new HttpSession(attach(s, destroyOnInput), ctx), log);
 * netServer.on("connection", (raw) => front.accept(raw));
 */
export interface ListenerCounters {
  /** TLS handshakes completed, resumed ones included. */
  handshakes: number;
  /** Handshakes that resumed a session (a ticket): no certificate signature, cheap. */
  resumed: number;
  /** Handshakes that failed (protocol version, no shared cipher, a reset mid-handshake). */
  failed: number;
  /** Client connections by protocol (after ALPN or the h2c preface; clear text too). */
  h1: number;
  h2: number;
}

/**
 * Zeroed {@link ListenerCounters}.
 *
 * @example
 * const counters = newListenerCounters();
 */
export function newListenerCounters(): ListenerCounters {
  return { handshakes: 0, resumed: 0, failed: 0, h1: 0, h2: 0 };
}

/** Certificates ready to serve, built from the files of one `tls` config. */
export interface PreparedTls {
  readonly key: string;
  readonly defaultContext: SecureContext;
  readonly byName: NameTable<SecureContext> | null;
  /** Every context but the default one (the server's own). */
  readonly others: readonly SecureContext[];
  readonly files: { cert: Buffer; key: Buffer };
  readonly minVersion: ListenerTls["minVersion"];
}

const SESSION_TIMEOUT_S = 3600;

export class TlsFront {
  readonly server: Server;
  #prepared: PreparedTls;
  readonly #unsubscribe: () => void;

  /** `counters` belong to the listener (they outlive a front that a reload replaces). */
  constructor(cfg: HttpListenerConfig, tickets: TicketKeys, counters: ListenerCounters, onSecure: (socket: TLSSocket) => void, log: Logger | undefined) {
    this.#prepared = TlsFront.prepare(cfg.tls!);
    const p = this.#prepared;
    const alpn = alpnOf(cfg);
    this.server = createServer({
      cert: p.files.cert,
      key: p.files.key,
      minVersion: p.minVersion,
      ALPNProtocols: alpn,
      ticketKeys: tickets.current(),
      sessionTimeout: SESSION_TIMEOUT_S,
      // A slow or silent handshake is a slowloris too.
      handshakeTimeout: cfg.timeouts.requestHeaders,
      SNICallback: (name, cb) => cb(null, this.#prepared.byName?.get(name.toLowerCase()) ?? this.#prepared.defaultContext),
    });
    this.#setTicketKeys(tickets.current());
    this.#unsubscribe = tickets.subscribe((keys) => this.#setTicketKeys(keys));
    this.server.on("secureConnection", (s: TLSSocket) => {
      counters.handshakes++;
      if (s.isSessionReused()) counters.resumed++;
      onSecure(s);
    });
    this.server.on("tlsClientError", (err: Error, s: TLSSocket) => {
      counters.failed++;
      log?.debug({ client: s.remoteAddress, err: err.message }, "TLS handshake failed");
    });
  }

  /** Starts the TLS handshake on a connection the listener accepted. */
  accept(raw: Socket): void {
    this.server.emit("connection", raw);
  }

  /**
   * Reads and loads the certificate files of `tls` (already validated by the loader,
   * but they may have changed since): throws when OpenSSL refuses them.
   */
  static prepare(tls: ListenerTls): PreparedTls {
    const built = tls.certs.map((c) => {
      const files = { cert: readFileSync(c.cert), key: readFileSync(c.key) };
      let context: SecureContext;
      try {
        context = createSecureContext({ cert: files.cert, key: files.key, minVersion: tls.minVersion, sessionTimeout: SESSION_TIMEOUT_S });
      } catch (e) {
        throw new Error(`TLS certificate ${c.cert} (key ${c.key}) refused: ${(e as Error).message}`, { cause: e });
      }
      return { cert: c, files, context };
    });
    const first = built[0]!;
    let byName: NameTable<SecureContext> | null = null;
    if (built.length > 1) {
      byName = new NameTable<SecureContext>();
      for (const b of built) for (const n of b.cert.names) byName.add(n, b.context);
    }
    const others = built.slice(1).map((b) => b.context);
    return { key: keyOf(tls), defaultContext: first.context, byName, others, files: first.files, minVersion: tls.minVersion };
  }

  /** True when `tls` names other certificates (or other contents) than the ones serving. */
  differs(tls: ListenerTls): boolean {
    return keyOf(tls) !== this.#prepared.key;
  }

  /**
   * Serves `p` (when given) and the ALPN of `cfg.protocols` to new handshakes;
   * established connections keep their certificate.
   */
  apply(p: PreparedTls | null, cfg: HttpListenerConfig, tickets: TicketKeys): void {
    if (p !== null) {
      this.#prepared = p;
      this.server.setSecureContext({
        cert: p.files.cert,
        key: p.files.key,
        minVersion: p.minVersion,
        sessionTimeout: SESSION_TIMEOUT_S,
        ticketKeys: tickets.current(),
      });
      this.#setTicketKeys(tickets.current());
    }
    // ALPN is the server's, not the certificate's: follows `protocols` too.
    (this.server as unknown as { ALPNProtocols: unknown }).ALPNProtocols = alpnBuffer(alpnOf(cfg));
  }

  close(): void {
    this.#unsubscribe();
    this.server.close();
  }

  // OpenSSL handles tickets with the context a handshake started on (the default one),
  // but every context gets the keys, so that nothing depends on that detail.
  #setTicketKeys(keys: Buffer): void {
    this.server.setTicketKeys(keys);
    for (const c of this.#prepared.others) (c as unknown as { context: { setTicketKeys(k: Buffer): void } }).context.setTicketKeys(keys);
  }
}

function keyOf(tls: ListenerTls): string {
  return `${tls.minVersion} ${tls.certs.map((c) => `${c.cert}:${c.key}:${c.fingerprint}`).join(" ")}`;
}

function alpnOf(cfg: HttpListenerConfig): string[] {
  const out: string[] = [];
  if (cfg.protocols.includes("h2")) out.push("h2");
  if (cfg.protocols.includes("http1")) out.push("http/1.1");
  return out;
}

// What node:tls keeps for ALPNProtocols: length-prefixed names.
function alpnBuffer(names: readonly string[]): Buffer {
  return Buffer.concat(names.map((n) => Buffer.concat([Buffer.of(n.length), Buffer.from(n, "latin1")])));
}
