import { createHash, createPrivateKey, X509Certificate } from "node:crypto";
import { createSecureContext } from "node:tls";

/**
 * What the loader learns from TLS files, so that a broken certificate is refused like
 * any invalid config (with its path), before anything is applied: the PEM parses, the
 * key matches the certificate, and OpenSSL accepts the pair as it will be served.
 *
 * @example
 * const r = inspectKeyPair(readFileSync(cert), readFileSync(key));
 * if (r.ok) r.value.names; // ["example.com", "*.example.com"]
 * else console.error(`tls.${r.field}: ${r.message}`);
 */
export type Inspected<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly field: "cert" | "key" | "ca"; readonly message: string };

const NO_CERT = 'not a PEM certificate (no "BEGIN CERTIFICATE" block)';

/** The facts a listener needs about one certificate. */
export interface KeyPairFacts {
  readonly names: string[];
  readonly notAfter: string;
  readonly fingerprint: string;
}

/** Checks a certificate chain (leaf first) and its private key. */
export function inspectKeyPair(certPem: Buffer, keyPem: Buffer): Inspected<KeyPairFacts> {
  if (!certPem.includes("-----BEGIN CERTIFICATE-----")) return { ok: false, field: "cert", message: NO_CERT };
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(keyPem.toString("latin1"))) {
    return { ok: false, field: "key", message: 'not a PEM private key (no "BEGIN PRIVATE KEY" block)' };
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certPem);
  } catch (e) {
    return { ok: false, field: "cert", message: `not a PEM certificate: ${short(e)}` };
  }
  try {
    const key = createPrivateKey(keyPem);
    if (!leaf.checkPrivateKey(key)) return { ok: false, field: "key", message: "does not match the certificate (its public key differs)" };
  } catch (e) {
    const why = short(e);
    const encrypted = /passphrase|encrypted|bad decrypt/i.test(why) || keyPem.includes("ENCRYPTED");
    return { ok: false, field: "key", message: encrypted ? "is encrypted (holdfast needs an unencrypted key file, readable only by it)" : `not a PEM private key: ${why}` };
  }
  try {
    // What the listener will do with the files: OpenSSL may still refuse (a key too small
    // for its security level, a broken chain entry).
    createSecureContext({ cert: certPem, key: keyPem });
  } catch (e) {
    return { ok: false, field: "cert", message: `refused by OpenSSL: ${short(e)}` };
  }
  const names = dnsNames(leaf);
  if (names.length === 0) return { ok: false, field: "cert", message: "names no host (no DNS subjectAltName and no subject CN)" };
  return { ok: true, value: { names, notAfter: new Date(leaf.validTo).toISOString(), fingerprint: fingerprint(certPem, keyPem) } };
}

/** Checks a file of CA certificates (PEM, one or more); gives its text. */
export function inspectCa(caPem: Buffer): Inspected<string> {
  if (!caPem.includes("-----BEGIN CERTIFICATE-----")) return { ok: false, field: "ca", message: NO_CERT };
  try {
    new X509Certificate(caPem);
    createSecureContext({ ca: caPem });
  } catch (e) {
    return { ok: false, field: "ca", message: `not PEM CA certificates: ${short(e)}` };
  }
  return { ok: true, value: caPem.toString("latin1") };
}

/**
 * The DNS names a certificate serves (subjectAltName DNS entries, else the subject's
 * CN), lower case.
 *
 * @example
 * dnsNames(new X509Certificate(pem)); // ["example.com", "*.example.com"]
 */
export function dnsNames(cert: X509Certificate): string[] {
  const san = cert.subjectAltName;
  const names: string[] = [];
  if (san !== undefined) {
    // "DNS:a.example, DNS:*.b.example, IP Address:10.0.0.1"; Node quotes entries with
    // unusual characters as JSON strings ("DNS:\"...\""), which no host name has.
    for (const entry of san.split(", ")) if (entry.startsWith("DNS:")) names.push(entry.slice(4).toLowerCase());
  }
  if (names.length > 0) return names;
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
  return cn === undefined ? [] : [cn.toLowerCase()];
}

function fingerprint(...parts: Buffer[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex").slice(0, 16);
}

function short(e: unknown): string {
  const m = (e as Error).message ?? String(e);
  // OpenSSL's "error:0A00018F:SSL routines::ee key too small" → "ee key too small"
  return m.replace(/^error:[0-9A-F]+:[^:]*::?/, "").split("\n")[0]!;
}
