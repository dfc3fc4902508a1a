// Server-sent events through an exchange, the byte-level part: recognising a stream from
// its head, event boundaries from the last data bytes, and what the stream's timer
// decides. Pure tables (issue 15).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Head, findHeadEnd, parseResponse } from "../../codec/http1/head.ts";
import { HEARTBEAT_CHUNK, HEARTBEAT_RAW, SSE_CUT, SSE_END, SSE_HEARTBEAT, SSE_WAIT, SseStream, atEventBoundary, isEventStream } from "./sse.ts";

test("isEventStream: a 200 whose Content-Type is text/event-stream, parameters and case aside", () => {
  const cases: [status: string, contentType: string | null, stream: boolean][] = [
    ["200 OK", "text/event-stream", true],
    ["200 OK", "text/event-stream; charset=utf-8", true],
    ["200 OK", "text/event-stream ;charset=utf-8", true],
    ["200 OK", "text/event-stream\t; x=y", true],
    ["200 OK", "Text/Event-Stream", true],
    ["200 OK", "text/event-streams", false],
    ["200 OK", "text/event-strea", false],
    ["200 OK", "xtext/event-stream", false],
    ["200 OK", "text/plain", false],
    ["200 OK", "", false],
    ["200 OK", null, false],
    ["201 Created", "text/event-stream", false],
    ["204 No Content", "text/event-stream", false],
  ];
  for (const [status, contentType, stream] of cases) {
    const lines = [`HTTP/1.1 ${status}`, "X-Other: text/event-stream", ...(contentType === null ? [] : [`Content-Type: ${contentType}`]), "Transfer-Encoding: chunked"];
    const buf = Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
    const h = new Head();
    assert.equal(parseResponse(buf, findHeadEnd(buf, 0, buf.length), h), 0);
    assert.equal(isEventStream(buf, h), stream, `${status} / ${contentType}`);
  }
});

/** The framer's tail of the last data bytes (up to 4, oldest in the high byte). */
const tail = (s: string) => [...Buffer.from(s, "latin1").subarray(-4)].reduce((t, b) => ((t << 8) | b) >>> 0, 0);

test("atEventBoundary: an empty line ends an event, whatever the line ends; nothing sent yet is a boundary", () => {
  const cases: [last: string, boundary: boolean][] = [
    ["data: x\n\n", true],
    ["data: x\r\n\r\n", true],
    ["data: x\n\r\n", true],
    ["data: x\r\r\n", true],
    ["data: x\r\r", true],
    ["data: x\n", false],
    ["data: x\r\n", false],
    ["data: x\r", false],
    ["data: x\rx", false], // a CR ended a line, a new one began: inside an event
    ["data: x\n\r", false], // a CR after an LF may start a CR LF: not yet a boundary
    ["x\r\nx\n", false],
    ["\rx\n", false],
    [":x\n", false],
    ["data: x", false],
  ];
  for (const [last, boundary] of cases) assert.equal(atEventBoundary(tail(last), true), boundary, JSON.stringify(last));
  assert.equal(atEventBoundary(0, false), true, "nothing sent yet");
  assert.equal(atEventBoundary(tail("data: x\n"), false), true, "not started: whatever the tail");
  assert.equal(atEventBoundary(0, true), false, "started, with a tail of NULs");
});

/** A stand-in for the body framer: only what the stream reads and writes. */
const framer = (o: { untilClose?: boolean; atChunkStart?: boolean; dataTail?: number } = {}) => ({
  trackTail: false,
  dataTail: o.dataTail ?? 0,
  atChunkStart: o.atChunkStart ?? true,
  untilClose: o.untilClose ?? false,
});

describe("SseStream", () => {
  test("begin and stop set the stream's state and the framer's tail tracking", () => {
    const s = new SseStream();
    const f = framer({ dataTail: 0x0a0a });
    s.ending = true;
    s.begin(f, 1000, true);
    assert.deepEqual([s.active, s.started, s.ending, s.lastData, f.trackTail, f.dataTail], [true, true, false, 1000, true, 0]);
    s.begin(f, 2000, false);
    assert.equal(s.started, false);
    f.dataTail = 0x0a;
    s.stop(f);
    assert.deepEqual([s.active, f.trackTail, f.dataTail], [false, false, 0]);
  });

  test("atBoundary: at a chunk's start (or a body framed by close) and between events", () => {
    const s = new SseStream();
    s.begin(framer(), 0, true);
    const cases: [untilClose: boolean, atChunkStart: boolean, last: string, boundary: boolean][] = [
      [false, true, "x\n\n", true],
      [false, false, "x\n\n", false], // inside a chunk: no bytes of ours may go in
      [true, false, "x\n\n", true],
      [true, true, "x\n", false],
      [false, true, "x\n", false],
    ];
    for (const [untilClose, atChunkStart, last, boundary] of cases) {
      assert.equal(s.atBoundary(framer({ untilClose, atChunkStart, dataTail: tail(last) })), boundary, `${untilClose} ${atChunkStart} ${JSON.stringify(last)}`);
    }
  });

  test("check: end or cut when idle, a heartbeat when quiet between events, and when to look again", () => {
    const rest = "x\n\n", inside = "x\n";
    // [last data, idleMs, heartbeatMs, ms since the last data, verdict, next]
    const cases: [string, number, number | undefined, number, number, number | null][] = [
      [rest, 1000, undefined, 999, SSE_WAIT, 1],
      [rest, 1000, undefined, 1000, SSE_END, null],
      [inside, 1000, undefined, 1000, SSE_CUT, null],
      [inside, 1000, undefined, 1500, SSE_CUT, null],
      [rest, 1000, 300, 299, SSE_WAIT, 300],
      [rest, 1000, 300, 300, SSE_HEARTBEAT, 300],
      [rest, 1000, 300, 800, SSE_HEARTBEAT, 200], // the idle end comes before the next heartbeat
      [inside, 1000, 300, 300, SSE_WAIT, 300], // no heartbeat inside an event
      [rest, 1000, 300, 0, SSE_WAIT, 300],
    ];
    for (const [last, idleMs, heartbeatMs, quiet, verdict, next] of cases) {
      const s = new SseStream();
      const f = framer();
      s.begin(f, 10_000, true);
      f.dataTail = tail(last);
      s.next = -1;
      assert.equal(s.check(f, { idleMs, heartbeatMs }, 10_000 + quiet), verdict, `${idleMs} ${heartbeatMs} ${quiet}`);
      if (next !== null) assert.equal(s.next, next, `next after ${idleMs} ${heartbeatMs} ${quiet}`);
    }
  });

  test("heartbeat: a comment line, as a chunk unless the body is framed by close", () => {
    const s = new SseStream();
    assert.equal(s.heartbeat(framer({ untilClose: true })), HEARTBEAT_RAW);
    assert.equal(s.heartbeat(framer()), HEARTBEAT_CHUNK);
    assert.equal(HEARTBEAT_RAW.toString("latin1"), ":\n");
    assert.equal(HEARTBEAT_CHUNK.toString("latin1"), "2\r\n:\n\r\n");
  });
});
