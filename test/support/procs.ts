// Which process holds a connection, read from Linux's /proc: for tests of `workers: N`,
// where the kernel (SO_REUSEPORT) decides which worker accepts each client connection.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** The child processes of `pid` (its workers, for a gateway primary). */
export function childPids(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
}

/** `/proc/net/tcp`'s form of 127.0.0.1:port. */
const loopback = (port: number): string => `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;

/**
 * The process among `pids` holding the server side of the loopback TCP connection that
 * a client made from local port `clientPort` to `serverPort`, or undefined when none
 * does (yet, or any more). The socket's inode comes from `ss` (iproute2: the kernel
 * filters by port, fast on a machine with tens of thousands of sockets) or else from
 * /proc/net/tcp; then the processes' descriptors are searched for it.
 *
 * @example
 * const worker = ownerOf(gwPort, socket.localPort!, childPids(primary.pid!));
 */
export function ownerOf(serverPort: number, clientPort: number, pids: readonly number[]): number | undefined {
  const inode = inodeBySs(serverPort, clientPort) ?? inodeByProc(serverPort, clientPort);
  if (inode === undefined || inode === "0") return undefined;
  const link = `socket:[${inode}]`;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // exited
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === link) return pid;
      } catch {
        // closed while we looked
      }
    }
  }
  return undefined;
}

/** The inode from `ss`; undefined without ss. */
function inodeBySs(serverPort: number, clientPort: number): string | undefined {
  let out: string;
  try {
    out = execFileSync("ss", ["-Htne", "state", "established", `( sport = :${serverPort} and dport = :${clientPort} )`], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return undefined;
  }
  return /\bino:(\d+)/.exec(out)?.[1] ?? "0";
}

function inodeByProc(serverPort: number, clientPort: number): string | undefined {
  const local = loopback(serverPort);
  const remote = loopback(clientPort);
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[2] === remote) return f[9];
  }
  return undefined;
}
