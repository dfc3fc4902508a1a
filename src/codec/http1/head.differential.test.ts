import assert from "node:assert/strict";
import { METHODS as NODE_METHODS } from "node:http";
import { after, before, describe, test } from "node:test";
import { METHODS, REFUSED, RESPONSES, SMUGGLING, VALID, bytes, type RequestCase } from "./corpus.kit.ts";
import {
  SENTINEL, compare, compareForwarded, compareResponse, h2cDropped, scanResponse, scanStream, type OurResult, type Verdict,
} from "./differential.kit.ts";
import { startOracle, startResponseOracle, type Oracle, type OracleResponse, type OracleResult } from "./llhttp-oracle.kit.ts";

/**
 * Differential test against llhttp (Node's own parser, strict mode). For each corpus
 * case, the client bytes (plus a sentinel request, so a disagreement on where a body
 * ends shows as a different next message) go to a `node:http` server over a fresh
 * connection, and through our scanner and BodyFramer.
 *
 * The property: we never accept a message llhttp refuses, and when both accept they
 * agree on method, target, every header line, the body and where it ends. Then what we
 * forward for each accepted message must read the same way in llhttp, ending exactly
 * where our body ends. Being stricter is allowed, but only for the cases listed below.
 * Responses get the same treatment with llhttp in response mode (Node's client): a
 * framing disagreement there desynchronises whatever sits in front of us.
 */

// Why each case we refuse is accepted by llhttp (one line each).
const WHY = {
  line: "request line must be exactly `method SP target SP HTTP/1.x CRLF` (RFC 9112 §3): lenient whitespace and versions are a classic desync vector",
  host: "RFC 9112 §3.2: exactly one Host in HTTP/1.1, a valid uri-host; routing and X-Forwarded-Host come from it",
  coding10: "RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing",
  coding: "RFC 9112 §6.1 lets a server refuse codings it does not implement (501): only a lone `chunked` frames the same everywhere",
  connect: "CONNECT makes the rest of the connection a tunnel; a reverse proxy has no business forwarding one",
  upgrade10: "RFC 9110 §7.8 says to ignore Upgrade in HTTP/1.0 while llhttp tunnels: ambiguous, so refused",
  upgradeBody: "Node's llhttp server tunnels right after the head while our session frames the body first: ambiguous, so refused",
  target: "a target must be origin-, absolute- (letters scheme, no userinfo) or asterisk-form (RFC 9112 §3.2)",
  count: "MAX_HEADERS bounds the reused offset arrays; llhttp has no limit",
  connection: "Connection must be a token list, so which lines are hop-by-hop is never a guess",
  cl16: "Content-Length over 15 digits would not be exact in a double (2^53)",
  chunk14: "chunk size over 13 hex digits would not be exact in a double (2^53)",
  emptyExt: "chunk-ext-val is a token or a quoted-string (RFC 9112 §7.1.1): never empty",
  hostMismatch: "RFC 9112 §3.2: Host must equal the target's authority; when they differ one hop routes by one and the next by the other (HAProxy refuses it too)",
  asterisk: "RFC 9112 §3.2.4: asterisk-form is for OPTIONS only",
};

/**
 * Cases where llhttp switches protocols and we do not, on purpose: an h2c upgrade is
 * dropped (h2csmuggler; RFC 9113 §3.1 retired it) and the request is forwarded as plain
 * HTTP/1.1 without its Upgrade line, which llhttp then reads the same way (the
 * forwarding test checks it).
 */
const UPGRADE_DROPPED: Record<string, string> = {
  "h2c upgrade (dropped: plain HTTP/1.1)": "h2c",
  "h2c upgrade then a request (h2csmuggler)": "h2c",
};

/** Every case where we are stricter than llhttp, and why. */
const STRICTER: Record<string, string> = {
  "double space after the method": WHY.line,
  "double space after the target": WHY.line,
  "request line double spaces": WHY.line,
  "missing version": WHY.line,
  "request line missing version": WHY.line,
  "HTTP/2.0": WHY.line,
  "HTTP/0.9 style": WHY.line,
  "too many headers": WHY.count,
  "malformed Connection": WHY.connection,
  "Content-Length of 16 digits": WHY.cl16,
  "Transfer-Encoding gzip, chunked": WHY.coding,
  "TE identity, chunked": WHY.coding,
  "TE x then chunked": WHY.coding,
  "Transfer-Encoding on HTTP/1.0": WHY.coding10,
  "missing Host": WHY.host,
  "two Hosts": WHY.host,
  "two identical Hosts": WHY.host,
  "Host duplicated": WHY.host,
  "empty Host": WHY.host,
  "Host with a space": WHY.host,
  "Host with spaces": WHY.host,
  "Host with userinfo": WHY.host,
  "Host with @": WHY.host,
  "Host list": WHY.host,
  "Host with comma": WHY.host,
  "Host with a path": WHY.host,
  "Host with a backslash": WHY.host,
  "Host with a query": WHY.host,
  "Host with obs-text": WHY.host,
  "missing Host with absolute-form": WHY.host,
  "CONNECT": WHY.connect,
  "CONNECT then a GET": WHY.connect,
  "Upgrade on HTTP/1.0": WHY.upgrade10,
  "Upgrade on HTTP/1.0 then a GET": WHY.upgrade10,
  "chunk ext with empty value": WHY.emptyExt,
  "Upgrade with a body": WHY.upgradeBody,
  "Upgrade with a Content-Length body": WHY.upgradeBody,
  "Upgrade with a chunked body": WHY.upgradeBody,
  "asterisk with more": WHY.target,
  "absolute-form with an empty authority": WHY.target,
  "absolute-form with userinfo": WHY.target,
  "absolute-form whose Host differs": WHY.hostMismatch,
  "absolute-form whose Host differs by port": WHY.hostMismatch,
  "absolute-form with another Host": WHY.hostMismatch,
  "asterisk-form with GET": WHY.asterisk,
  "chunk size of 14 digits": WHY.chunk14,
};

/** Every response we refuse that llhttp (as a client) accepts, and why. */
const STRICTER_RESPONSES: Record<string, string> = {
  "chunked with a trailing tab": "llhttp reads it as not chunked (until close) while the tab is OWS to others: refused as ambiguous",
  "status 600": "RFC 9110 §15: status codes are 100-599",
  "status 099": "RFC 9110 §15: status codes are 100-599",
  "CTL in the reason phrase": "reason-phrase is HTAB / SP / VCHAR / obs-text (RFC 9112 §4)",
};

/**
 * Cases where we accept what llhttp refuses. Allowed only when what we forward is
 * normalised into something llhttp reads the same way (checked by the forwarding test).
 */
const LOOSER: Record<string, string> = {
  "identical Content-Lengths":
    "RFC 9112 §6.3 allows identical repeats; we forward a single Content-Length line, which llhttp accepts",
};

const LOOSER_RESPONSES: Record<string, string> = {
  "identical Content-Lengths": "RFC 9112 §6.3 allows identical repeats; we forward a single Content-Length line, which llhttp accepts",
};

const CASES: RequestCase[] = [...VALID, ...REFUSED, ...SMUGGLING];

describe("differential: our scanner vs llhttp", () => {
  let oracle: Oracle;
  const ours: OurResult[] = [];
  let theirs: OracleResult[] = [];
  /** Per case, per accepted message: what llhttp made of what we forward. */
  const forwarded: OracleResult[][] = [];
  const verdicts = new Map<string, Verdict>();

  before(async () => {
    oracle = await startOracle();
    const inputs = CASES.map((c) => Buffer.concat([bytes(c.raw), SENTINEL]));
    for (const input of inputs) ours.push(scanStream(input));
    theirs = await oracle.sendAll(inputs);
    const fwd: Buffer[] = [];
    const owner: number[] = [];
    ours.forEach((r, i) => {
      for (const m of r.messages) {
        fwd.push(m.version === 11 ? Buffer.concat([m.forwarded, SENTINEL]) : m.forwarded);
        owner.push(i);
      }
      forwarded.push([]);
    });
    const seen = await oracle.sendAll(fwd);
    seen.forEach((s, k) => forwarded[owner[k]!]!.push(s));
  });
  after(() => oracle.close());

  test("case names are unique", () => {
    assert.equal(new Set(CASES.map((c) => c.name)).size, CASES.length);
  });

  test("the methods we accept are llhttp's, minus CONNECT (a new Node may add some)", () => {
    assert.deepEqual([...METHODS].sort(), NODE_METHODS.filter((m) => m !== "CONNECT").sort());
  });

  CASES.forEach((c, i) => {
    test(c.name, () => {
      const v = compare(ours[i]!, theirs[i]!);
      verdicts.set(c.name, v);
      const dropped = c.name in UPGRADE_DROPPED && h2cDropped(ours[i]!, v);
      const allowed = v.kind === "same" || dropped || (v.kind === "stricter" && c.name in STRICTER) || (v.kind === "looser" && c.name in LOOSER);
      assert.ok(allowed, `${v.kind}: ${v.detail}${v.kind === "stricter" ? " (add it to STRICTER with a why if this is on purpose)" : ""}`);
      ours[i]!.messages.forEach((m, k) => {
        const d = compareForwarded(m, forwarded[i]![k]!, m.version === 11);
        assert.equal(d, "", `forwarded message ${k}: ${d}`);
      });
    });
  });

  test("every allow-listed case still differs that way (the lists stay true)", () => {
    for (const name of Object.keys(STRICTER)) assert.equal(verdicts.get(name)?.kind, "stricter", name);
    for (const name of Object.keys(LOOSER)) assert.equal(verdicts.get(name)?.kind, "looser", name);
  });
});

describe("differential: responses, our scanner vs llhttp as a client", () => {
  const ours = RESPONSES.map((c) => scanResponse(bytes(c.raw)));
  let theirs: OracleResponse[] = [];
  let forwarded: OracleResponse[] = [];
  const verdicts = new Map<string, Verdict>();

  before(async () => {
    const oracle = await startResponseOracle();
    theirs = await oracle.sendAll(RESPONSES.map((c) => bytes(c.raw)));
    forwarded = await oracle.sendAll(ours.map((r) => r.forwarded));
    await oracle.close();
  });

  test("case names are unique", () => {
    assert.equal(new Set(RESPONSES.map((c) => c.name)).size, RESPONSES.length);
  });

  RESPONSES.forEach((c, i) => {
    test(c.name, () => {
      const o = ours[i]!;
      const v = compareResponse(o, theirs[i]!);
      verdicts.set(c.name, v);
      const allowed = v.kind === "same" || (v.kind === "stricter" && c.name in STRICTER_RESPONSES) || (v.kind === "looser" && c.name in LOOSER_RESPONSES);
      assert.ok(allowed, `${v.kind}: ${v.detail}`);
      if (o.end !== "ok") return;
      // What the client receives from us reads the same way.
      const f = compareResponse(o, forwarded[i]!, o.kept);
      assert.equal(f.kind, "same", `forwarded: ${f.detail}`);
    });
  });

  test("every allow-listed response still differs that way", () => {
    for (const name of Object.keys(STRICTER_RESPONSES)) assert.equal(verdicts.get(name)?.kind, "stricter", name);
    for (const name of Object.keys(LOOSER_RESPONSES)) assert.equal(verdicts.get(name)?.kind, "looser", name);
  });
});
