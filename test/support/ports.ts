// Ports a test must know before a process listens on them (a process started, killed and
// started again on the same port; a port that refuses). Everything else listens on 0.
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** The kernel's ephemeral range starts here: listen(0) and outgoing connections take ports at or above it. */
function ephemeralStart(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 12_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

const LOW = 10_000; // above the well-known and registered services tests might meet
const HIGH = Math.min(ephemeralStart(), 24_000); // below the benches' BASE_PORT (24100)

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen({ port, host: "127.0.0.1", exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/**
 * A loopback port that is free now and stays out of everyone else's way until the test
 * uses it: below the kernel's ephemeral range, so no `listen(0)` and no outgoing
 * connection of another test (thousands per second in the suite) can take it in the
 * meantime, as they could a port bound on 0 and closed. Random in [10000, 24000), checked
 * by binding it.
 *
 * @example
 * const port = await fixedPort(); // then `holdfast hub` on 127.0.0.1:${port}, killed and restarted on it
 */
export async function fixedPort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port in [${LOW}, ${HIGH}) after 200 tries`);
}

/**
 * Throws unless a `holdfast gateway` or `holdfast hub` config names its own admin
 * listener. Without one the process binds the default (127.0.0.1:9900, the hub's
 * :9901), which every other such test and `npm start`'s demo share: two of them at
 * once fail with EADDRINUSE, whichever starts second (seen: sse-h2-stop beside the
 * demo's test). Port 0 is the usual answer: the process prints where it listens.
 *
 * @example
 * assertOwnAdmin(yaml); // before spawning; yaml has `admin: { listen: 127.0.0.1:0 }`
 */
export function assertOwnAdmin(yaml: string): void {
  if (!/^admin:\s*\{?[^\n]*listen/m.test(yaml) && !/^admin:\s*\n\s+listen:/m.test(yaml)) {
    throw new Error("this test's holdfast process would listen on the default admin port, shared with every other test and the demo: give its config `admin: { listen: 127.0.0.1:0 }`");
  }
}
