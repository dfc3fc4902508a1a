// A throwaway PKI for TLS tests, made by the openssl CLI in a temporary folder: CAs (EC
// P-256, valid a day or two) and leaf certificates they sign for any DNS names or IPs.
// Clients trust the CA only, so a test verifies the chain and the name like production.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

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
