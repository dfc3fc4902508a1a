// Raw-socket clients for byte-exact requests.
import { connect, type Socket } from "node:net";
import { until } from "./wait.ts";

/** Sends raw bytes, returns everything received until the server closes (or `ms` passes). */
export async function rawExchange(port: number, data: string | Buffer, ms = 3000): Promise<{ text: string; closed: boolean }> {
  const s = connect(port, "127.0.0.1");
  const chunks: Buffer[] = [];
  s.on("data", (c: Buffer) => chunks.push(c));
  s.write(data);
  const closed = await new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    s.on("close", () => {
      clearTimeout(t);
      resolve(true);
    });
    s.on("error", () => {});
  });
  s.destroy();
  return { text: Buffer.concat(chunks).toString("latin1"), closed };
}

/** Opens a keep-alive raw connection; `request` writes bytes and resolves with one response. */
export function rawClient(port: number) {
  const s = connect(port, "127.0.0.1");
  s.setNoDelay(true);
  let buf = "";
  let waiter: (() => void) | null = null;
  s.on("data", (c: Buffer) => {
    buf += c.toString("latin1");
    waiter?.();
  });
  s.on("error", () => {});
  // Resolves on the next data, on close, or after `ms`, whichever comes first.
  const more = async (ms: number): Promise<void> => {
    await new Promise<void>((r) => {
      const t = setTimeout(r, ms);
      waiter = () => {
        clearTimeout(t);
        r();
      };
      s.once("close", waiter);
    });
    if (waiter !== null) s.off("close", waiter);
    waiter = null;
  };
  return {
    socket: s,
    /**
     * Resolves with the next complete response that has a Content-Length body, or
     * rejects after `ms` (or when the connection closes) with the bytes that did arrive.
     */
    async request(data: string, ms = 5000): Promise<string> {
      s.write(data);
      const t0 = performance.now();
      for (;;) {
        const he = buf.indexOf("\r\n\r\n");
        if (he >= 0) {
          const m = /content-length: *(\d+)/i.exec(buf.slice(0, he));
          const len = m ? Number(m[1]) : 0;
          if (buf.length >= he + 4 + len) {
            const res = buf.slice(0, he + 4 + len);
            buf = buf.slice(he + 4 + len);
            return res;
          }
        }
        const left = ms - (performance.now() - t0);
        if (left <= 0 || s.destroyed) throw new Error(`no complete response ${s.destroyed ? "before the connection closed" : `after ${ms} ms`}: ${JSON.stringify(buf)} received`);
        await more(left);
      }
    },
    /**
     * Resolves with everything received so far once `done(text)` holds (consuming it),
     * or rejects after `ms` saying what arrived: a response that never comes fails the
     * test with the bytes, it does not hang it.
     */
    async readUntil(done: (text: string) => boolean, ms = 3000): Promise<string> {
      const t0 = performance.now();
      while (!done(buf)) {
        const left = ms - (performance.now() - t0);
        if (left <= 0 || s.destroyed) throw new Error(`${s.destroyed ? "connection closed" : `timed out after ${ms} ms`} with ${JSON.stringify(buf)} received`);
        await more(left);
      }
      const text = buf;
      buf = "";
      return text;
    },
    close() {
      s.destroy();
    },
  };
}

/** A client connection from `from` (a loopback address) that collects what it receives. */
export function loopbackClient(port: number, from: string, first?: string | Buffer) {
  const s: Socket = connect({ port, host: "127.0.0.1", localAddress: from });
  let text = "";
  let closed = false;
  s.on("data", (d: Buffer) => (text += d.toString("latin1")));
  s.on("error", () => {});
  s.on("close", () => (closed = true));
  if (first !== undefined) s.write(first);
  return {
    socket: s,
    get text() {
      return text;
    },
    get closed() {
      return closed;
    },
    /** Waits for a whole response head (or the close). */
    async answer(ms = 3000): Promise<string> {
      await until(() => /\r\n\r\n/.test(text) || closed, ms, `an answer on a connection from ${from}`);
      return text;
    },
  };
}
