import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffOptions } from "./backoff.ts";
import { ReconnectPolicy, type DropDecision } from "./policy.ts";
import { playback } from "./testing.kit.ts";

type Step =
  | readonly ["start" | "retry" | "close"]
  | readonly ["open", number]
  | readonly ["drop", number, number, string, Partial<DropDecision>]
  | readonly ["pause", number, Partial<DropDecision>]
  | readonly ["wake", boolean];

interface Case {
  name: string;
  steps: readonly Step[];
  /** The state after the last step. */
  end: string;
}

// backoff 250 ms ×2 up to 4 s, minUptime 5 s, every random draw 0.5: a backoff delay is
// half its ceiling (125, 250, 500, ...), a hinted one the hint plus half of itself (at
// most 500 ms more: the jitter is capped at 1 s).
const cases: Case[] = [
  {
    name: "first connect keeps failing: ceilings double up to max",
    steps: [
      ["start"],
      ["drop", 0, 1006, "", { state: "reconnecting", delay: 125, attempt: 1, hinted: false }], ["retry"],
      ["drop", 200, 1006, "", { delay: 250, attempt: 2 }], ["retry"],
      ["drop", 500, 1006, "", { delay: 500, attempt: 3 }], ["retry"],
      ["drop", 1100, 1006, "", { delay: 1000, attempt: 4 }], ["retry"],
      ["drop", 2200, 1006, "", { delay: 2000, attempt: 5 }], ["retry"],
      ["drop", 4300, 1006, "", { delay: 2000, attempt: 6 }], ["retry"],
    ],
    end: "connecting",
  },
  {
    name: "a connection shorter than minUptime does not reset the backoff",
    steps: [
      ["start"], ["open", 0],
      ["drop", 4999, 1006, "", { delay: 125, attempt: 1 }], ["retry"], ["open", 5200],
      ["drop", 6000, 1001, "", { delay: 250, attempt: 2 }], ["retry"], ["open", 6500],
      ["drop", 7000, 4001, "pong timeout", { delay: 500, attempt: 3, code: 4001, reason: "pong timeout" }],
    ],
    end: "reconnecting",
  },
  {
    name: "staying up minUptime resets the backoff",
    steps: [
      ["start"],
      ["drop", 0, 1006, "", { attempt: 1 }], ["retry"],
      ["drop", 100, 1006, "", { attempt: 2 }], ["retry"],
      ["drop", 300, 1006, "", { attempt: 3, delay: 500 }], ["retry"], ["open", 1000],
      ["drop", 6000, 1006, "", { attempt: 1, delay: 125 }], ["retry"],
      ["drop", 6200, 1006, "", { attempt: 2, delay: 250 }],
    ],
    end: "reconnecting",
  },
  {
    name: "1012 with a hint waits hint + jitter, counts the attempt and does not reset the backoff",
    steps: [
      ["start"],
      ["drop", 0, 1006, "", { attempt: 1 }], ["retry"],
      ["drop", 100, 1006, "", { attempt: 2 }], ["retry"], ["open", 400],
      ["drop", 500, 1012, "retry-after=2000", { state: "reconnecting", delay: 2500, hinted: true, attempt: 3 }], ["retry"],
      ["drop", 3600, 1006, "", { delay: 1000, hinted: false, attempt: 4 }],
    ],
    end: "reconnecting",
  },
  {
    name: "1013 with a hint on a healthy connection: the hint, then the backoff starts from its floor",
    steps: [
      ["start"], ["open", 0],
      ["drop", 60_000, 1013, "retry-after=900; admission", { delay: 1350, hinted: true, attempt: 1 }], ["retry"],
      ["drop", 61_500, 1006, "", { delay: 250, hinted: false, attempt: 2 }],
    ],
    end: "reconnecting",
  },
  {
    name: "a zero hint still spreads over backoff.min; a long one gets at most 1 s more",
    steps: [["start"], ["open", 0], ["drop", 10, 1001, "retry-after=0", { delay: 125, hinted: true }], ["retry"], ["open", 20], ["drop", 30, 1013, "retry-after=30000", { delay: 30_500, hinted: true }]],
    end: "reconnecting",
  },
  {
    name: "a reconnecting code without a hint uses the backoff",
    steps: [["start"], ["open", 0], ["drop", 10, 1012, "drained", { delay: 125, hinted: false }]],
    end: "reconnecting",
  },
  {
    name: "a terminal code stops and says why",
    steps: [["start"], ["open", 0], ["drop", 10, 4500, "token signature invalid", { state: "closed", code: 4500, reason: "token signature invalid" }]],
    end: "closed",
  },
  {
    name: "a terminal code stops even before the connection opened, and wins over a hint",
    steps: [["start"], ["drop", 0, 4501, "retry-after=100", { state: "closed", code: 4501 }]],
    end: "closed",
  },
  {
    name: "wake retries now after a backoff, not during a server's hint",
    steps: [
      ["start"], ["drop", 0, 1006, "", { hinted: false }], ["wake", true], ["retry"], ["open", 10],
      ["drop", 20, 1012, "retry-after=5000", { hinted: true }], ["wake", false], ["retry"], ["wake", false],
    ],
    end: "connecting",
  },
  {
    name: "pause waits for wake without counting a failure",
    steps: [
      ["start"], ["drop", 0, 1006, "", { attempt: 1 }], ["retry"], ["open", 10],
      ["pause", 20, { state: "reconnecting", delay: Infinity, attempt: 1, reason: "page hidden" }], ["wake", true], ["retry"],
      ["drop", 30, 1006, "", { attempt: 2, delay: 250 }],
    ],
    end: "reconnecting",
  },
  {
    name: "close is final from any state",
    steps: [["start"], ["open", 0], ["close"], ["wake", false]],
    end: "closed",
  },
];

for (const c of cases) {
  test(`ReconnectPolicy: ${c.name}`, () => {
    const p = new ReconnectPolicy({ backoff: backoffOptions({ min: 250, max: 4000 }), minUptime: 5000, random: playback([0.5]) });
    assert.equal(p.state, "closed");
    for (const [i, step] of c.steps.entries()) {
      const where = `step ${i} ${JSON.stringify(step)}`;
      switch (step[0]) {
        case "start": assert.equal(p.start(), "connecting", where); break;
        case "retry": assert.equal(p.retry(), "connecting", where); break;
        case "close": assert.equal(p.close(), "closed", where); break;
        case "open": assert.equal(p.opened(step[1]), "open", where); break;
        case "wake": assert.equal(p.wake(), step[1], where); break;
        case "drop": {
          const d = p.dropped(step[1], step[2], step[3]);
          for (const [k, v] of Object.entries(step[4])) assert.equal((d as unknown as Record<string, unknown>)[k], v, `${where}: ${k}`);
          assert.equal(p.state, d.state, where);
          break;
        }
        case "pause": {
          const d = p.pause(step[1], "page hidden");
          for (const [k, v] of Object.entries(step[2])) assert.equal((d as unknown as Record<string, unknown>)[k], v, `${where}: ${k}`);
          break;
        }
      }
    }
    assert.equal(p.state, c.end);
  });
}

test("ReconnectPolicy: transitions out of order are refused with the state named", () => {
  const p = new ReconnectPolicy({ backoff: backoffOptions({}), minUptime: 0, random: Math.random });
  assert.throws(() => p.retry(), /retry\(\) while closed/);
  assert.throws(() => p.opened(0), /opened\(\) while closed/);
  p.start();
  assert.throws(() => p.start(), /already started/);
  assert.throws(() => p.retry(), /retry\(\) while connecting/);
  p.opened(0);
  assert.throws(() => p.opened(1), /opened\(\) while open/);
  p.close();
  assert.throws(() => p.dropped(2, 1006, ""), /dropped\(\) while closed/);
  assert.throws(() => new ReconnectPolicy({ backoff: backoffOptions({}), minUptime: -1, random: Math.random }), /minUptime/);
});
