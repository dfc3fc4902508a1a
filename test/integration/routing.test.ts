// The router through a real gateway over loopback sockets (docs/config.md "routes"):
// every `match` kind, routes tried in order, `allow` on the socket's address (or the
// PROXY header's) answering 403 with no later route tried, 404 when nothing matches,
// and a `split` drawing each request at random by weight. The table-driven unit tests
// of the same rules are src/gateway/routes.test.ts.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { httpBackend, type Backend } from "../support/backends.ts";
import { startGateway, type TestGateway } from "../support/gateway.ts";
import { rawClient, rawExchange } from "../support/raw.ts";

const NAMES = ["api", "admin", "canary", "private", "web", "s3", "s1", "s0"] as const;
type Name = (typeof NAMES)[number];

describe("routes through the gateway", () => {
  const be = new Map<Name, Backend>();
  let gw: TestGateway;
  let proxied: TestGateway;

  /** One http listener `web` with `key` (a listener line) and `routes`, every backend of {@link NAMES}. */
  const config = (key: string, routes: string[]) => `
admin: { listen: 127.0.0.1:0 }
listeners:
  - name: web
    mode: http
    listen: 127.0.0.1:0
    ${key}
    routes:
${routes.map((r) => `      - ${r}`).join("\n")}
backends:
${[...be].map(([n, b]) => `  ${n}: { servers: [ { name: ${n}1, address: "127.0.0.1:${b.port}" } ] }`).join("\n")}
`;

  before(async () => {
    for (const n of NAMES) be.set(n, await httpBackend(n));
    // No default route: what matches nothing is 404.
    gw = await startGateway(config("trustedProxies: [127.0.0.0/8]", [
      "{ match: { pathPrefix: /api/ }, backend: api }",
      "{ match: { host: admin.example.com }, allow: [127.0.0.0/8], backend: admin }",
      '{ match: { header: { X-Canary: "true", X-Team: blue } }, backend: canary }',
      '{ match: { pathPrefix: /private/ }, allow: [10.0.0.0/8, "2001:db8::/32"], backend: private }',
      "{ match: { pathPrefix: /private/ }, backend: web }",
      "{ match: { pathPrefix: /split }, split: [ { backend: s3, weight: 3 }, { backend: s1, weight: 1 }, { backend: s0, weight: 0 } ] }",
      "{ match: { host: www.example.com, pathPrefix: /site/ }, backend: web }",
    ]));
    // The same allow behind a PROXY header: the header's source address is the client's.
    proxied = await startGateway(config("proxyProtocol: accept", ["{ match: { pathPrefix: /private/ }, allow: [10.0.0.0/8], backend: private }", "{ backend: web }"]));
  });
  after(async () => {
    // A failed start leaves these unset: the backends are closed anyway, or the run hangs.
    await Promise.all([gw, proxied].map((g: TestGateway | undefined) => g?.close()));
    for (const b of be.values()) await b.close();
  });

  /** Status and the backend that answered (its echo), for one request on a new connection. */
  async function send(port: number, head: string, preface = ""): Promise<string> {
    const { text } = await rawExchange(port, `${preface}${head}Connection: close\r\n\r\n`, 5000);
    const status = /^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1] ?? `no response: ${JSON.stringify(text)}`;
    const by = /\r\nx-served-by: (\w+)\r\n/i.exec(text)?.[1];
    return by === undefined ? status : `${status} ${by}`;
  }

  test("each match kind picks its backend, routes are tried in order, and nothing matching is 404", async () => {
    const cases: [string, string][] = [
      ["GET /api/users HTTP/1.1\r\nHost: www.example.com\r\n", "200 api"],
      ["GET /api HTTP/1.1\r\nHost: www.example.com\r\n", "404"], // the prefix is /api/, and no default route
      ["GET /api/x HTTP/1.1\r\nHost: admin.example.com\r\n", "200 api"], // the first matching route wins
      ["GET / HTTP/1.1\r\nHost: admin.example.com\r\n", "200 admin"],
      ["GET / HTTP/1.1\r\nHost: ADMIN.example.COM:8080\r\n", "200 admin"], // host: case and port ignored
      ["GET / HTTP/1.1\r\nHost: admin.example.com.evil\r\n", "404"], // host: exact, no suffix match
      ["GET / HTTP/1.1\r\nHost: t\r\nX-Canary: true\r\nx-team: blue\r\n", "200 canary"], // every header entry, names ignore case
      ["GET / HTTP/1.1\r\nHost: t\r\nX-Canary: true\r\n", "404"], // one header of two
      ["GET / HTTP/1.1\r\nHost: t\r\nX-Canary: True\r\nX-Team: blue\r\n", "404"], // values are exact
      ["GET / HTTP/1.1\r\nHost: t\r\nX-Canary: true\r\nX-Canary: false\r\nX-Team: blue\r\n", "200 canary"], // the first field counts
      ["GET / HTTP/1.1\r\nHost: t\r\nX-Canary: false\r\nX-Canary: true\r\nX-Team: blue\r\n", "404"],
      ["GET /site/a HTTP/1.1\r\nHost: www.example.com\r\n", "200 web"], // host and pathPrefix together
      ["GET /site/a HTTP/1.1\r\nHost: example.com\r\n", "404"],
      ["GET /Site/a HTTP/1.1\r\nHost: www.example.com\r\n", "404"], // pathPrefix is case-sensitive
    ];
    const before = new Map([...be].map(([n, b]) => [n, b.requests.length]));
    const got: string[] = [];
    for (const [head] of cases) got.push(await send(gw.port(), head));
    assert.deepEqual(got, cases.map((c) => c[1]));
    // The 404s reached no backend: each backend saw exactly the requests routed to it.
    for (const [n, b] of be) {
      const want = cases.filter((c) => c[1] === `200 ${n}`).length;
      assert.equal(b.requests.length - before.get(n)!, want, n);
    }
  });

  test("allow: a client outside every block gets 403 and no later route is tried; inside, it is served", async () => {
    const priv = be.get("private")!;
    const web = be.get("web")!;
    const [p0, w0] = [priv.requests.length, web.requests.length];
    // 127.0.0.1 is outside 10.0.0.0/8: 403, although the next route would take /private/.
    const { text } = await rawExchange(gw.port(), "GET /private/x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 5000);
    assert.match(text, /^HTTP\/1\.1 403 /);
    // X-Forwarded-For from a trusted proxy does not change the address allow checks.
    assert.equal(await send(gw.port(), "GET /private/x HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 10.1.2.3\r\n"), "403");
    assert.equal(priv.requests.length - p0, 0, "the allow route's backend got nothing");
    assert.equal(web.requests.length - w0, 0, "the later /private/ route was not tried");
    // Inside: 127.0.0.0/8 may reach admin.example.com.
    assert.equal(await send(gw.port(), "GET / HTTP/1.1\r\nHost: admin.example.com\r\n"), "200 admin");
    // Behind a PROXY header, its source address is the one allow checks.
    const from = (ip: string) => `PROXY TCP4 ${ip} 127.0.0.1 40000 80\r\n`;
    assert.equal(await send(proxied.port(), "GET /private/x HTTP/1.1\r\nHost: t\r\n", from("10.20.30.40")), "200 private");
    assert.equal(await send(proxied.port(), "GET /private/x HTTP/1.1\r\nHost: t\r\n", from("192.0.2.7")), "403");
    assert.equal(await send(proxied.port(), "GET /public HTTP/1.1\r\nHost: t\r\n", from("192.0.2.7")), "200 web");
  });

  test("a split draws each request by weight (3 : 1 : 0), on one client connection too", async () => {
    const split = (["s3", "s1", "s0"] as const).map((n) => be.get(n)!);
    const before = split.map((b) => b.requests.length);
    const N = 800;
    const c = rawClient(gw.port());
    try {
      for (let i = 0; i < N; i++) assert.match(await c.request(`GET /split/${i} HTTP/1.1\r\nHost: t\r\n\r\n`), /^HTTP\/1\.1 200 /);
    } finally {
      c.close();
    }
    const [n3, n1, n0] = split.map((b, i) => b.requests.length - before[i]!);
    assert.equal(n3! + n1!, N);
    assert.equal(n0, 0, "weight 0 never drawn");
    // Binomial(800, 1/4): mean 200, sd 12.2; outside 200 ± 90 (7 sd) has odds below 1e-11.
    assert.ok(n1! > 110 && n1! < 290, `weight 1 of 4 drew ${n1} of ${N}`);
  });
});
