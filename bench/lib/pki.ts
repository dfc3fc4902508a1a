// The certificate of the TLS workloads: one ECDSA P-256 leaf (localhost, 127.0.0.1)
// made once per run by the openssl CLI (test/support/tls.ts), written where every
// proxy reads it: cert.pem + key.pem (holdfast, nginx) and cert+key in one file (HAProxy).
import fs from "node:fs";
import path from "node:path";
import type { Ctx } from "./context.ts";
import { testPki } from "../../test/support/tls.ts";

export interface BenchCert {
  cert: string;
  key: string;
  /** The certificate then the key, as HAProxy's `crt` wants. */
  combined: string;
  /** PEM of the CA (for a client that verifies). */
  ca: string;
}

const made = new Map<string, BenchCert>();

export function benchCert(ctx: Ctx): BenchCert {
  const have = made.get(ctx.dir);
  if (have) return have;
  const dir = path.join(ctx.dir, "tmp", "pki-front");
  fs.mkdirSync(dir, { recursive: true });
  const pki = testPki();
  const out: BenchCert = {
    cert: path.join(dir, "cert.pem"), key: path.join(dir, "key.pem"), combined: path.join(dir, "haproxy.pem"), ca: path.join(dir, "ca.pem"),
  };
  fs.writeFileSync(out.cert, pki.cert);
  fs.writeFileSync(out.key, pki.key);
  fs.writeFileSync(out.combined, pki.cert + pki.key);
  fs.writeFileSync(out.ca, pki.ca);
  made.set(ctx.dir, out);
  return out;
}
