// A throwaway PKI for TLS tests, made by the openssl CLI in a temporary folder: CAs (EC
// P-256, valid a day or two) and leaf certificates they sign for any DNS names or IPs.
// Clients trust the CA only, so a test verifies the chain and the name like production.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { connect, type TLSSocket } from "node:tls";

export interface TestPki {
  /** PEM of the CA certificate (what clients trust). */
  readonly ca: string;
  /** PEM of the server certificate (CN=localhost, SAN DNS:localhost, IP:127.0.0.1) and its key. */
  readonly cert: string;
  readonly key: string;
}

/** A certificate (or chain) and its key, as PEM text and as files. */
export interface Pem {
  readonly cert: string;
  readonly key: string;
  readonly certPath: string;
  readonly keyPath: string;
}

export interface TestCa extends Pem {
  readonly dir: string;
  /**
   * A leaf for `names` (DNS names or IPs; the first is the CN), signed by this CA. Its
   * cert file holds the leaf then the CA (a full chain, like certbot's fullchain.pem).
   */
  issue(names: readonly string[], opts?: { days?: number; ocspUrl?: string }): Pem;
}

function openssl(dir: string, args: string[]): void {
  try {
    execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  } catch (e) {
    const err = e as { code?: string; stderr?: Buffer };
    if (err.code === "ENOENT") throw new Error("TLS tests need the openssl command (apt-get install openssl)", { cause: e });
    throw new Error(`openssl ${args[0]} failed: ${err.stderr?.toString() ?? String(e)}`, { cause: e });
  }
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
let serial = 1;

/** A new CA in a fresh temporary folder (~20 ms); each `issue` takes ~30 ms. */
export function makeCa(name = "holdfast test CA"): TestCa {
  const dir = mkdtempSync(path.join(tmpdir(), "holdfast-pki-"));
  const read = (f: string): string => readFileSync(path.join(dir, f), "utf8");
  openssl(dir, ["req", "-x509", ...EC, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", `/CN=${name}`,
    "-addext", "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
  const caPem = read("ca.pem");
  return {
    cert: caPem,
    key: read("ca.key"),
    certPath: path.join(dir, "ca.pem"),
    keyPath: path.join(dir, "ca.key"),
    dir,
    issue(names, opts = {}) {
      const f = `leaf-${serial++}`;
      const ext = [
        "basicConstraints=critical,CA:false",
        "keyUsage=critical,digitalSignature",
        "extendedKeyUsage=serverAuth",
        `subjectAltName=${names.map((x) => (/^[\d.]+$/.test(x) ? `IP:${x}` : `DNS:${x}`)).join(",")}`,
        ...(opts.ocspUrl === undefined ? [] : [`authorityInfoAccess=OCSP;URI:${opts.ocspUrl}`]),
      ];
      writeFileSync(path.join(dir, `${f}.ext`), `${ext.join("\n")}\n`);
      openssl(dir, ["req", ...EC, "-keyout", `${f}.key`, "-out", `${f}.csr`, "-subj", `/CN=${names[0]}`]);
      openssl(dir, ["x509", "-req", "-in", `${f}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", String(1000 + serial),
        "-days", String(opts.days ?? 2), "-out", `${f}.crt`, "-extfile", `${f}.ext`]);
      const chain = read(`${f}.crt`) + caPem;
      writeFileSync(path.join(dir, `${f}.pem`), chain);
      return { cert: chain, key: read(`${f}.key`), certPath: path.join(dir, `${f}.pem`), keyPath: path.join(dir, `${f}.key`) };
    },
  };
}

let made: TestPki | undefined;

/** The process's test PKI (made on first use): a CA and a server certificate for localhost and 127.0.0.1. */
export function testPki(): TestPki {
  if (made) return made;
  const ca = makeCa();
  const leaf = ca.issue(["localhost", "127.0.0.1"]);
  // The leaf alone, as before: callers that want the chain add `ca` themselves.
  made = { ca: ca.cert, cert: leaf.cert.slice(0, leaf.cert.length - ca.cert.length), key: leaf.key };
  return made;
}

/** A keep-alive HTTPS/1.1 connection made by {@link tlsConnection}. */
export interface TlsConnection {
  readonly socket: TLSSocket;
  /** The serial number of the certificate the server showed (hex; "" when resumed: none is sent). */
  readonly serial: string;
  /** Its subject CN ("" when resumed). */
  readonly cn: string;
  /** The handshake resumed a session (`isSessionReused()`). */
  readonly reused: boolean;
  /** The first session ticket the server sends (after the handshake with TLS 1.3). */
  readonly session: Promise<Buffer>;
  /** `GET path`; resolves with the status and body (responses need `content-length`). */
  request(path: string): Promise<{ status: number; body: string }>;
  close(): void;
}

/**
 * Opens a TLS connection to 127.0.0.1:`port` that trusts `ca` only, resuming `session`
 * when given, and waits for the handshake; requests go one at a time on it.
 *
 * @example
 * const c = await tlsConnection(port, ca.cert, { servername: "a.test" });
 * assert.equal((await c.request("/")).status, 200);
 * const again = await tlsConnection(port, ca.cert, { servername: "a.test", session: await c.session });
 * assert.ok(again.reused);
 */
export async function tlsConnection(port: number, ca: string, opts: { servername: string; session?: Buffer; maxVersion?: "TLSv1.2" | "TLSv1.3" }): Promise<TlsConnection> {
  const socket = connect({ host: "127.0.0.1", port, ca, servername: opts.servername, ALPNProtocols: ["http/1.1"],
    ...(opts.session === undefined ? {} : { session: opts.session }), ...(opts.maxVersion === undefined ? {} : { maxVersion: opts.maxVersion }) });
  const session = new Promise<Buffer>((resolve) => socket.once("session", resolve));
  let buf = "";
  let wake: (() => void) | null = null;
  socket.setEncoding("latin1");
  socket.on("data", (d: string) => {
    buf += d;
    wake?.();
  });
  socket.on("close", () => wake?.());
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("the TLS handshake took over 5 s")), 5000);
    socket.once("secureConnect", () => {
      clearTimeout(t);
      resolve();
    });
    socket.once("error", (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
  socket.on("error", () => {});
  return {
    socket,
    serial: socket.getPeerCertificate().serialNumber ?? "",
    cn: String(socket.getPeerCertificate().subject?.CN ?? ""),
    reused: socket.isSessionReused(),
    session,
    async request(path) {
      buf = "";
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${opts.servername}\r\n\r\n`);
      const t0 = Date.now();
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end >= 0) {
          const length = Number(/\r\ncontent-length: *(\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
          if (buf.length >= end + 4 + length) return { status: Number(buf.slice(9, 12)), body: buf.slice(end + 4, end + 4 + length) };
        }
        if (socket.destroyed) throw new Error(`the connection closed before a response: ${JSON.stringify(buf)}`);
        if (Date.now() - t0 > 5000) throw new Error(`no response within 5 s: ${JSON.stringify(buf)}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, 50);
          wake = () => {
            clearTimeout(t);
            wake = null;
            r();
          };
        });
      }
    },
    close: () => socket.destroy(),
  };
}
