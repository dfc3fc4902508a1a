import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ClientInfo } from "../../protocol/hub.ts";
import { PresenceBook } from "./presence.ts";

const c = (client: string, user: string): ClientInfo => ({ client, user });

describe("PresenceBook", () => {
  type Step =
    | { add: [string, ClientInfo]; at?: number; first: boolean }
    | { remove: [string, string]; left: string | undefined }
    | { close: string; left: [string, string][] };
  const cases: { name: string; steps: Step[]; clients: Record<string, number>; users: Record<string, number> }[] = [
    {
      name: "first add joins, a repeat does nothing",
      steps: [
        { add: ["room", c("c1", "alice")], first: true },
        { add: ["room", c("c1", "alice")], first: false },
      ],
      clients: { room: 1 },
      users: { room: 1 },
    },
    {
      name: "a user with two connections counts once as a user",
      steps: [
        { add: ["room", c("c1", "alice")], first: true },
        { add: ["room", c("c2", "alice")], first: true },
        { add: ["room", c("c3", "bob")], first: true },
        { remove: ["room", "c1"], left: "c1" },
      ],
      clients: { room: 2 },
      users: { room: 2 },
    },
    {
      name: "removing what is not there",
      steps: [
        { add: ["room", c("c1", "alice")], first: true },
        { remove: ["room", "c9"], left: undefined },
        { remove: ["other", "c1"], left: undefined },
        { remove: ["room", "c1"], left: "c1" },
        { remove: ["room", "c1"], left: undefined },
      ],
      clients: { room: 0 },
      users: { room: 0 },
    },
    {
      name: "closing a connection leaves every channel it was in, only its own entries",
      steps: [
        { add: ["a", c("c1", "alice")], first: true },
        { add: ["b", c("c1", "alice")], first: true },
        { add: ["b", c("c2", "bob")], first: true },
        { close: "c1", left: [["a", "c1"], ["b", "c1"]] },
        { close: "c1", left: [] },
      ],
      clients: { a: 0, b: 1 },
      users: { a: 0, b: 1 },
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const book = new PresenceBook({ touchEveryMs: 10 });
      for (const step of tc.steps) {
        if ("add" in step) assert.equal(book.add(step.add[0], step.add[1], step.at ?? 0), step.first);
        else if ("remove" in step) assert.equal(book.remove(...step.remove)?.client, step.left);
        else assert.deepEqual(book.removeConnection(step.close).map((x) => [x.channel, x.who.client]), step.left);
      }
      for (const [ch, n] of Object.entries(tc.clients)) assert.equal(book.clients(ch), n, `clients in ${ch}`);
      for (const [ch, n] of Object.entries(tc.users)) assert.equal(book.users(ch), n, `users in ${ch}`);
    });
  }

  it("counts connections per user and channels per client", () => {
    const book = new PresenceBook({ touchEveryMs: 10 });
    book.add("a", c("c1", "alice"), 0);
    book.add("a", c("c2", "alice"), 0);
    book.add("b", c("c1", "alice"), 0);
    assert.equal(book.connectionsOf("a", "alice"), 2);
    assert.equal(book.connectionsOf("a", "bob"), 0);
    assert.deepEqual(book.channelsOf("c1").sort(), ["a", "b"]);
    assert.deepEqual(book.channelsOf("zz"), []);
  });

  it("touches each channel once per period, with its current entries", () => {
    const book = new PresenceBook({ touchEveryMs: 1000 });
    book.add("a", c("c1", "alice"), 0);
    book.add("b", c("c2", "bob"), 500);
    book.add("a", c("c3", "carol"), 600);
    const due = (now: number): string[] => book.due(now).map((d) => `${d.channel}:${d.clients.map((x) => x.client).join("+")}`);
    assert.deepEqual(due(999), []);
    assert.deepEqual(due(1000), ["a:c1+c3"]);
    assert.deepEqual(due(1400), []);
    assert.deepEqual(due(1500), ["b:c2"]);
    assert.deepEqual(due(2000), ["a:c1+c3"]);
    book.removeConnection("c2");
    assert.deepEqual(due(5000), ["a:c1+c3"]); // b is gone with its last entry
    assert.deepEqual(book.all().map((x) => x.channel), ["a"]);
  });
});
