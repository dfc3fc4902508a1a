// Minimal WebSocket client over node:net for load generation: just enough of
// RFC 6455 (handshake, masked binary frames, close) to keep the client cheap,
// so that most of the load-generator core is left to the backend.
// Copied from holdfast's shared benchmark anchors (anchors/clients/wsraw.js), in TypeScript.
import net from "node:net";
import crypto from "node:crypto";

export type ConnectCallback = (err: Error | null, sock: net.Socket | null, rest: Buffer | null) => void;

/** TCP connect + HTTP/1.1 upgrade handshake (`headers`: more header lines, each ending in CRLF); cb(null, socket, bytesAfterTheHead) on 101. */
export function connect(port: number, cb: ConnectCallback, { host = "127.0.0.1", path = "/", timeoutMs = 10000, headers = "" } = {}): void {
  const sock = net.connect({ port, host, noDelay: true });
  const key = crypto.randomBytes(16).toString("base64");
  const expect = crypto.createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
  let buf: Buffer | null = null;
  let done = false;
  const timer = setTimeout(() => finish(new Error("handshake timeout")), timeoutMs);
  function finish(err: Error | null): void {
    if (done) return;
    done = true;
    clearTimeout(timer);
    sock.removeListener("data", onData);
    sock.removeListener("error", finish);
    sock.removeListener("close", onClose);
    if (err || !buf) {
      sock.destroy();
      cb(err ?? new Error("no response"), null, null);
      return;
    }
    const i = buf.indexOf("\r\n\r\n");
    cb(null, sock, buf.subarray(i + 4));
  }
  function onClose(): void {
    finish(new Error("closed during handshake"));
  }
  function onData(d: Buffer): void {
    buf = buf ? Buffer.concat([buf, d]) : d;
    const i = buf.indexOf("\r\n\r\n");
    if (i < 0) {
      if (buf.length > 16384) finish(new Error("response head too large"));
      return;
    }
    const head = buf.subarray(0, i).toString("latin1");
    if (!/^HTTP\/1\.1 101/.test(head)) return finish(new Error("bad status: " + head.split("\r\n")[0]));
    const m = /\r\nsec-websocket-accept:\s*(\S+)/i.exec(head);
    if (!m || m[1] !== expect) return finish(new Error("bad Sec-WebSocket-Accept"));
    finish(null);
  }
  sock.on("data", onData);
  sock.on("error", finish);
  sock.on("close", onClose);
  sock.once("connect", () => {
    sock.write(`GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${headers}\r\n`);
  });
}

/** A masked client frame (FIN set). payload.length must be < 65536. */
export function frame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const hdr = len < 126 ? 2 : 4;
  const out = Buffer.allocUnsafe(hdr + 4 + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  }
  const mask = crypto.randomBytes(4);
  mask.copy(out, hdr);
  for (let i = 0; i < len; i++) out[hdr + 4 + i] = (payload[i] ?? 0) ^ (mask[i & 3] ?? 0);
  return out;
}

/** Size of the unmasked server frame that echoes a payload of `len` bytes. */
export function serverFrameSize(len: number): number {
  return (len < 126 ? 2 : 4) + len;
}

const CLOSE_1000 = Buffer.from([0x03, 0xe8]);
export function closeFrame(): Buffer {
  return frame(0x8, CLOSE_1000);
}

export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? null;
}

export function round(x: number | null, d = 3): number | null {
  return x === null ? null : +x.toFixed(d);
}

/** --name=value arguments over defaults; numbers where the default is a number. */
export function parseArgs<T extends Record<string, number | string>>(argv: string[], defaults: T): T {
  const out: Record<string, number | string> = { ...defaults };
  for (const a of argv) {
    const m = /^--([^=]+)=(.*)$/.exec(a);
    const k = m?.[1];
    const v = m?.[2];
    if (k === undefined || v === undefined || !(k in defaults)) throw new Error(`bad argument ${a}`);
    out[k] = typeof defaults[k] === "number" ? Number(v) : v;
  }
  return out as T;
}

/** --cpu-pids=1,2 --proxy-cpu=0 --load-cpu=1 */
export function cpuArgs(o: Record<string, number | string>): { pids: number[]; proxyCpu: number; loadCpu: number } {
  const pids = String(o["cpu-pids"] ?? "").split(",").filter(Boolean).map(Number);
  return { pids, proxyCpu: Number(o["proxy-cpu"] ?? 0), loadCpu: Number(o["load-cpu"] ?? 1) };
}
