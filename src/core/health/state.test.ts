import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { PassiveConfig } from "../../config/types.ts";
import {
  createHealthRecord,
  drain,
  effectiveWeight,
  ejectionAllowed,
  enable,
  isAvailable,
  isEjected,
  maintenance,
  recordCheck,
  recordFailure,
  recordSuccess,
  setWeight,
  state,
  type HealthRecord,
  type HealthState,
} from "./state.ts";

const passive = (over: Partial<PassiveConfig> = {}): PassiveConfig => ({
  consecutiveFailures: 3,
  ejectTime: 1000,
  maxEjectTime: 5000,
  maxEjectedPercent: 100,
  on5xx: false,
  recovery: "timeout",
  ...over,
});

/** Feeds `n` passive failures at `now`; returns whether the last one ejected. */
function fail(backend: HealthRecord[], rec: HealthRecord, cfg: PassiveConfig, now: number, n: number): boolean {
  let ejected = false;
  for (let i = 0; i < n; i++) ejected = recordFailure(backend, rec, cfg, now);
  return ejected;
}

describe("active checks: rise and fall", () => {
  // P = pass, F = fail; `states` is the state after each result, `changes` the return values.
  const cases: { name: string; down?: boolean; rise: number; fall: number; seq: string; states: string; changes: string }[] = [
    { name: "starts up, needs fall failures", rise: 2, fall: 3, seq: "FFF", states: "uud", changes: "..x" },
    { name: "a pass resets the failure streak", rise: 2, fall: 3, seq: "FFPFF", states: "uuuuu", changes: "....." },
    { name: "down needs rise passes", rise: 2, fall: 3, seq: "FFFPP", states: "uuddu", changes: "..x.x" },
    { name: "a failure resets the pass streak", rise: 2, fall: 3, seq: "FFFPFPP", states: "uuddddu", changes: "..x...x" },
    { name: "rise 1 fall 1 flips each time", rise: 1, fall: 1, seq: "FPFP", states: "dudu", changes: "xxxx" },
    { name: "started down waits for rise", down: true, rise: 3, fall: 2, seq: "PPP", states: "ddu", changes: "..x" },
    { name: "started down stays down on failures", down: true, rise: 2, fall: 2, seq: "FFF", states: "ddd", changes: "..." },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const rec = createHealthRecord(0, { down: c.down ?? false, warm: true });
      let states = "";
      let changes = "";
      [...c.seq].forEach((r, i) => {
        changes += recordCheck(rec, r === "P", undefined, c, i) ? "x" : ".";
        states += state(rec, i)[0];
      });
      assert.equal(states, c.states);
      assert.equal(changes, c.changes);
    });
  }
});

describe("admin overrides", () => {
  type Op = "drain" | "maintenance" | "enable" | "checkFail" | "checkPass";
  const run = (rec: HealthRecord, op: Op, now: number): boolean => {
    const t = { rise: 1, fall: 1 };
    switch (op) {
      case "drain": return drain(rec, now);
      case "maintenance": return maintenance(rec, now);
      case "enable": return enable(rec, now);
      case "checkFail": return recordCheck(rec, false, undefined, t, now);
      case "checkPass": return recordCheck(rec, true, undefined, t, now);
    }
  };
  const cases: { name: string; ops: [Op, boolean, HealthState, boolean][] }[] = [
    {
      name: "drain then enable",
      ops: [["drain", true, "draining", false], ["drain", false, "draining", false], ["enable", true, "up", true], ["enable", false, "up", true]],
    },
    {
      name: "maintenance hides failing checks; enable returns to what checks say",
      ops: [["maintenance", true, "maintenance", false], ["checkFail", true, "maintenance", false], ["enable", true, "down", false], ["checkPass", true, "up", true]],
    },
    {
      name: "checks recover during drain",
      ops: [["checkFail", true, "down", false], ["drain", true, "draining", false], ["checkPass", true, "draining", false], ["enable", true, "up", true]],
    },
    {
      name: "drain to maintenance is a change",
      ops: [["drain", true, "draining", false], ["maintenance", true, "maintenance", false], ["enable", true, "up", true]],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const rec = createHealthRecord(0, { warm: true });
      c.ops.forEach(([op, changed, st, available], i) => {
        assert.equal(run(rec, op, i), changed, `${op} #${i} changed`);
        assert.equal(state(rec, i), st, `${op} #${i} state`);
        assert.equal(isAvailable(rec, i), available, `${op} #${i} available`);
      });
    });
  }
});

describe("passive ejection", () => {
  it("doubles, caps at maxEjectTime and decays one level per ejectTime healthy", () => {
    const cfg = passive();
    const rec = createHealthRecord(0, { warm: true });
    const backend = [rec];
    const steps: { at: number; until: number }[] = [
      { at: 0, until: 1000 }, // ejectTime
      { at: 1000, until: 3000 }, // 2×
      { at: 3000, until: 7000 }, // 4×
      { at: 7000, until: 12000 }, // 8× capped at 5000
      { at: 12000, until: 17000 }, // stays at the cap
      { at: 19000, until: 21000 }, // 2 ejectTimes healthy: 2 levels down (8× → 2×)
      { at: 40000, until: 41000 }, // long healthy: back to ejectTime
    ];
    for (const s of steps) {
      assert.equal(fail(backend, rec, cfg, s.at, 2), false, `no ejection before the 3rd failure at ${s.at}`);
      assert.equal(recordFailure(backend, rec, cfg, s.at), true, `ejected at ${s.at}`);
      assert.equal(rec.ejectedUntil, s.until, `until at ${s.at}`);
      assert.equal(isAvailable(rec, s.until - 1), false);
      assert.equal(state(rec, s.until - 1), "down");
      assert.equal(isAvailable(rec, s.until), true);
    }
  });

  it("a success resets the streak; failures while ejected are ignored", () => {
    const cfg = passive();
    const rec = createHealthRecord(0, { warm: true });
    fail([rec], rec, cfg, 0, 2);
    recordSuccess(rec);
    assert.equal(fail([rec], rec, cfg, 0, 2), false);
    assert.equal(recordFailure([rec], rec, cfg, 0), true);
    assert.equal(fail([rec], rec, cfg, 500, 10), false);
    assert.equal(rec.ejectedUntil, 1000);
    assert.equal(fail([rec], rec, cfg, 1000, 2), false, "the streak restarts after an ejection");
  });

  it("failures while ejected neither count towards the next ejection nor extend this one", () => {
    // Two servers under a 100% cap, so only the straggler rule keeps rec's ejection as it is.
    const cfg = passive();
    const rec = createHealthRecord(0, { warm: true });
    const backend = [rec, createHealthRecord(0, { warm: true })];
    assert.equal(fail(backend, rec, cfg, 0, 3), true);
    assert.equal(fail(backend, rec, cfg, 500, 3), false);
    assert.equal(rec.ejectedUntil, 1000);
    assert.equal(rec.failures, 0);
  });

  it("ejectTime 0 (which the config refuses) ejects for no time and keeps the record finite", () => {
    // Decay divides by ejectTime: without its guard a second ejection at the same instant
    // would compute 0 / 0 and leave NaN in the record.
    const cfg = passive({ ejectTime: 0 });
    const rec = createHealthRecord(0, { warm: true });
    const backend = [rec, createHealthRecord(0, { warm: true })];
    for (let i = 0; i < 2; i++) {
      assert.equal(fail(backend, rec, cfg, 0, 3), true, `ejection ${i + 1}`);
      assert.equal(rec.ejectedUntil, 0);
      assert.equal(rec.ejections, i + 1, "no decay without an ejectTime to count in");
      assert.equal(isAvailable(rec, 0), true);
    }
  });

  const capCases: { name: string; servers: number; percent: number; ejectable: number }[] = [
    { name: "4 servers, 50%", servers: 4, percent: 50, ejectable: 2 },
    { name: "3 servers, 50%", servers: 3, percent: 50, ejectable: 1 },
    { name: "1 server, 50%: never", servers: 1, percent: 50, ejectable: 0 },
    { name: "1 server, 100%", servers: 1, percent: 100, ejectable: 1 },
    { name: "10 servers, 0%: never", servers: 10, percent: 0, ejectable: 0 },
  ];
  for (const c of capCases) {
    it(`maxEjectedPercent cap: ${c.name}`, () => {
      const cfg = passive({ maxEjectedPercent: c.percent });
      const backend = Array.from({ length: c.servers }, () => createHealthRecord(0, { warm: true }));
      const ejected = backend.filter((rec) => fail(backend, rec, cfg, 0, 3)).length;
      assert.equal(ejected, c.ejectable);
      assert.equal(backend.filter((r) => isEjected(r, 0)).length, c.ejectable);
    });
  }

  it("a server held in by the cap is ejected on its next failure once room frees up", () => {
    const cfg = passive({ maxEjectedPercent: 50 });
    const backend = [createHealthRecord(0), createHealthRecord(0)];
    const [a, b] = backend as [HealthRecord, HealthRecord];
    assert.equal(fail(backend, a, cfg, 0, 3), true);
    assert.equal(fail(backend, b, cfg, 0, 3), false);
    assert.equal(ejectionAllowed(backend, 50, 999), false);
    assert.equal(recordFailure(backend, b, cfg, 1000), true, "a is back: b goes at once");
  });

  it('recovery "check": out until a passing check after the ejection time', () => {
    const cfg = passive({ recovery: "check" });
    const t = { rise: 2, fall: 3 };
    const rec = createHealthRecord(0, { warm: true });
    assert.equal(fail([rec], rec, cfg, 0, 3), true);
    assert.equal(isEjected(rec, 60_000), true, "time alone does not bring it back");
    assert.equal(recordCheck(rec, true, undefined, t, 500), false, "too early");
    assert.equal(isAvailable(rec, 500), false);
    assert.equal(recordCheck(rec, true, undefined, t, 1000), true);
    assert.equal(isAvailable(rec, 1000), true);
    // Second ejection doubles; decay counts from the release.
    assert.equal(fail([rec], rec, cfg, 1200, 3), true);
    assert.equal(recordCheck(rec, true, undefined, t, 3100), false);
    assert.equal(recordCheck(rec, true, undefined, t, 3200), true);
  });

  it('recovery "check" while checks are down: the ejection lifts, the server stays down', () => {
    const cfg = passive({ recovery: "check" });
    const t = { rise: 2, fall: 1 };
    const rec = createHealthRecord(0, { warm: true });
    fail([rec], rec, cfg, 0, 3);
    recordCheck(rec, false, undefined, t, 100);
    assert.equal(recordCheck(rec, true, undefined, t, 1000), true);
    assert.equal(isEjected(rec, 1000), false);
    assert.equal(state(rec, 1000), "down");
    assert.equal(recordCheck(rec, true, undefined, t, 2000), true);
    assert.equal(state(rec, 2000), "up");
  });
});

describe("slow start", () => {
  const ramp: [elapsed: number, weight: number][] = [
    [0, 0.1], // 1% floor
    [50, 0.1], // 0.5% is below the floor
    [2500, 2.5],
    [5000, 5],
    [9999, 9.999],
    [10_000, 10],
    [60_000, 10],
  ];
  for (const [elapsed, weight] of ramp) {
    it(`added server, configured 10, slowStart 10s, after ${elapsed}ms: ${weight}`, () => {
      const rec = createHealthRecord(1000);
      assert.ok(Math.abs(effectiveWeight(rec, 10, 10_000, 1000 + elapsed) - weight) < 1e-9);
    });
  }

  it("warm servers and slowStart 0 get their full weight", () => {
    assert.equal(effectiveWeight(createHealthRecord(1000, { warm: true }), 10, 10_000, 1000), 10);
    assert.equal(effectiveWeight(createHealthRecord(1000), 10, 0, 1000), 10);
  });

  const restarts: { name: string; setup: (rec: HealthRecord) => number }[] = [
    {
      name: "checks come back up",
      setup: (rec) => {
        recordCheck(rec, false, undefined, { rise: 1, fall: 1 }, 100);
        recordCheck(rec, true, undefined, { rise: 1, fall: 1 }, 20_000);
        return 20_000;
      },
    },
    {
      name: "a timed ejection ends",
      setup: (rec) => {
        fail([rec], rec, passive(), 100, 3);
        return 1100;
      },
    },
    {
      name: "enable after maintenance",
      setup: (rec) => {
        maintenance(rec, 100);
        enable(rec, 30_000);
        return 30_000;
      },
    },
  ];
  for (const r of restarts) {
    it(`the ramp restarts when ${r.name}`, () => {
      const rec = createHealthRecord(0, { warm: true });
      const from = r.setup(rec);
      assert.equal(effectiveWeight(rec, 10, 10_000, from), 0.1, "the floor at the very instant");
      assert.equal(effectiveWeight(rec, 10, 10_000, from + 2500), 2.5);
      assert.equal(effectiveWeight(rec, 10, 10_000, from + 10_000), 10);
    });
  }
});

describe("the weight reported while a server is out", () => {
  // The metrics and the dashboard show `effectiveWeight` for every server. While a server
  // is out, the ramp has not restarted: it shows the weight it had (here its full 10,
  // a warm server), and the ramp starts over from the moment it is back.
  const t = { rise: 1, fall: 1 };
  const cases: { name: string; setup: (rec: HealthRecord) => void; out: number; comeBack?: (rec: HealthRecord) => void; back: number }[] = [
    { name: "during a timed ejection", setup: (rec) => void fail([rec, createHealthRecord(0)], rec, passive(), 100, 3), out: 600, back: 1100 },
    {
      name: "checks back up during a timed ejection",
      setup: (rec) => {
        recordCheck(rec, false, undefined, t, 50);
        fail([rec, createHealthRecord(0)], rec, passive(), 100, 3); // ejected until 1100
        recordCheck(rec, true, undefined, t, 500);
      },
      out: 600,
      back: 1100,
    },
    {
      name: "enabled while the checks still fail",
      setup: (rec) => {
        recordCheck(rec, false, undefined, t, 50);
        maintenance(rec, 100);
        enable(rec, 300);
      },
      out: 400,
      comeBack: (rec) => void recordCheck(rec, true, undefined, t, 2000),
      back: 2000,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const rec = createHealthRecord(0, { warm: true });
      c.setup(rec);
      assert.equal(isAvailable(rec, c.out), false);
      assert.equal(effectiveWeight(rec, 10, 10_000, c.out), 10, "while out");
      c.comeBack?.(rec);
      assert.equal(isAvailable(rec, c.back), true);
      assert.equal(effectiveWeight(rec, 10, 10_000, c.back + 2500), 2.5, "ramping again once back");
    });
  }
});

describe("agent and admin weight", () => {
  const t = { rise: 1, fall: 1 };
  const cases: { name: string; steps: [ok: boolean, weight: number | undefined][]; admin?: number; want: number }[] = [
    { name: "no agent: configured", steps: [[true, undefined]], want: 10 },
    { name: "agent weight is absolute", steps: [[true, 50]], want: 50 },
    { name: "agent weight 0", steps: [[true, 0]], want: 0 },
    { name: "agent 256", steps: [[true, 256]], want: 256 },
    { name: "out of range ignored", steps: [[true, 257]], want: 10 },
    { name: "fraction ignored", steps: [[true, 1.5]], want: 10 },
    { name: "failed check keeps the last agent weight", steps: [[true, 40], [false, 3]], want: 40 },
    { name: "a pass without weight clears it", steps: [[true, 40], [true, undefined]], want: 10 },
    { name: "admin wins over agent", steps: [[true, 40]], admin: 7, want: 7 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const rec = createHealthRecord(0, { warm: true });
      for (const [ok, w] of c.steps) recordCheck(rec, ok, w, t, 1);
      if (c.admin !== undefined) setWeight(rec, c.admin);
      assert.equal(effectiveWeight(rec, 10, 0, 2), c.want);
    });
  }

  it("setWeight reports changes and rejects bad values", () => {
    const rec = createHealthRecord(0);
    assert.equal(setWeight(rec, 5), true);
    assert.equal(setWeight(rec, 5), false);
    assert.equal(setWeight(rec, undefined), true);
    assert.equal(setWeight(rec, undefined), false);
    for (const bad of [-1, 257, 2.5, Number.NaN]) assert.throws(() => setWeight(rec, bad), RangeError);
    assert.throws(() => setWeight(rec, 300), { message: "weight must be an integer in 0..256, got 300" });
  });

  it("the ramp scales the agent weight", () => {
    const rec = createHealthRecord(0);
    recordCheck(rec, true, 100, t, 0);
    assert.equal(effectiveWeight(rec, 10, 10_000, 5000), 50);
  });
});

it("records survive structuredClone (control plane → workers)", () => {
  const rec = createHealthRecord(0);
  fail([rec], rec, passive({ recovery: "check" }), 0, 3);
  const copy = structuredClone(rec);
  assert.deepEqual(copy, rec);
  assert.equal(isEjected(copy, 1e12), true);
});
