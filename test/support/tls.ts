// A throwaway PKI for TLS tests: a CA made for this process by openssl (EC P-256, valid
// one day), and a server certificate it signed for localhost and 127.0.0.1. Clients
// trust `ca` only, so a test verifies the chain and the name like production does.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export interface TestPki {
  /** PEM of the CA certificate (what clients trust). */
  readonly ca: string;
  /** PEM of the server certificate (CN=localhost, SAN DNS:localhost, IP:127.0.0.1) and its key. */
  readonly cert: string;
  readonly key: string;
}

let made: TestPki | undefined;

function openssl(dir: string, args: string[]): void {
  try {
    execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  } catch (e) {
    const err = e as { code?: string; stderr?: Buffer };
    if (err.code === "ENOENT") throw new Error("TLS tests need the openssl command (apt-get install openssl)", { cause: e });
    throw new Error(`openssl ${args[0]} failed: ${err.stderr?.toString() ?? String(e)}`, { cause: e });
  }
}

/** The process's test PKI (made on first use, ~50 ms). */
export function testPki(): TestPki {
  if (made) return made;
  const dir = mkdtempSync(path.join(tmpdir(), "holdfast-pki-"));
  try {
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    openssl(dir, ["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=holdfast test CA"]);
    openssl(dir, ["req", ...ec, "-keyout", "key.pem", "-out", "server.csr", "-subj", "/CN=localhost"]);
    writeFileSync(path.join(dir, "ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    openssl(dir, ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
      "-out", "cert.pem", "-days", "1", "-extfile", "ext.cnf"]);
    const read = (f: string): string => readFileSync(path.join(dir, f), "utf8");
    made = { ca: read("ca.pem"), cert: read("cert.pem"), key: read("key.pem") };
    return made;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
