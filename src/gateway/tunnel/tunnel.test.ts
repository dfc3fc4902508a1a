// Tunnel on a real TimerWheel driven by a clock the test sets (issue 15, mutation
// testing of tunnel.ts): what the real-socket files cannot choose, where on the wheel a
// tunnel's deadline falls.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { HandledSocket } from "../sockets.ts";
import { TimerWheel } from "../timer-wheel.ts";
import { Tunnel } from "./tunnel.ts";

/** A side of a tunnel that only records being destroyed. */
function side() {
  return { handler: null as unknown, destroyed: false, resume() {}, destroy() { this.destroyed = true; } };
}

test("a tunnel's idle deadline fires in each of the wheel's 256 slots: started at every tick of a turn with 100 ms idle, both sides are destroyed one tick later, not before", () => {
  for (let tick = 0; tick < 256; tick++) {
    let now = tick * 100;
    const wheel = new TimerWheel(100, 256, () => now);
    const [client, upstream] = [side(), side()];
    const t = new Tunnel(client as unknown as HandledSocket, upstream as unknown as HandledSocket, wheel, 100, { tunnelClosed() {} });
    t.start(null, null);
    now += 99;
    wheel.advance();
    assert.deepEqual([client.destroyed, upstream.destroyed], [false, false], `started at tick ${tick}: destroyed before its deadline`);
    now += 1;
    wheel.advance();
    assert.deepEqual([client.destroyed, upstream.destroyed], [true, true], `started at tick ${tick} (slot ${(tick + 1) % 256}): not expired`);
  }
});
