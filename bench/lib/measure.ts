// Reading the kernel's accounting: CPU time of processes (utime+stime from
// /proc/PID/stat), busy/steal share of the two cores (/proc/stat), VmRSS, process
// trees. Used by the driver and by the WebSocket clients, which read the proxy's CPU
// use themselves at the exact edges of their measured window.
// Ported from cpuSnap / cpuDelta in holdfast's shared benchmark anchors (anchors/clients/wsraw.js, anchors/lib.sh).
import fs from "node:fs";

const HZ = 100; // USER_HZ, the unit of /proc/<pid>/stat times on Linux

/** Fields of /proc/PID/stat after the command name: index 0 is field 3 (state). */
function statFields(pid: number): string[] | null {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, "latin1");
    return st.slice(st.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** utime+stime of a process, in ticks (0 if it is gone). */
export function procTicks(pid: number): number {
  const f = statFields(pid);
  return f ? Number(f[11]) + Number(f[12]) : 0; // fields 14, 15
}

/** Start time of a process (field 22), to recognise a pid that was recycled. */
export function procStartTime(pid: number): number | null {
  const f = statFields(pid);
  return f ? Number(f[19]) : null;
}

/** Direct children of pid. */
export function children(pid: number): number[] {
  const out: number[] = [];
  let names: string[];
  try {
    names = fs.readdirSync("/proc");
  } catch {
    return out;
  }
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    const f = statFields(Number(n));
    if (f && Number(f[1]) === pid) out.push(Number(n));
  }
  return out;
}

/** All descendants of pid (children, grandchildren, ...). */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop() as number;
    for (const c of children(p)) {
      out.push(c);
      todo.push(c);
    }
  }
  return out;
}

function statusKib(pid: number, key: string): number | null {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(fs.readFileSync(`/proc/${pid}/status`, "latin1"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
export const rssKib = (pid: number): number | null => statusKib(pid, "VmRSS");
export const hwmKib = (pid: number): number | null => statusKib(pid, "VmHWM");
/** Sum over several pids (null if none could be read). */
export function sumKib(pids: number[], f: (pid: number) => number | null): number | null {
  let tot = 0;
  let any = false;
  for (const p of pids) {
    const v = f(p);
    if (v !== null) {
      tot += v;
      any = true;
    }
  }
  return any ? tot : null;
}

export interface CpuSnap {
  t: number;
  ticks: number;
  /** busy = all but idle and iowait; usersys = user + nice + system (process time, no irq/softirq). */
  cores: Record<string, { busy: number; usersys: number; total: number; steal: number }>;
}

export function cpuSnap(pids: number[], proxyCpu: number, loadCpu: number): CpuSnap {
  let ticks = 0;
  for (const pid of pids) ticks += procTicks(pid);
  const cores: CpuSnap["cores"] = {};
  for (const line of fs.readFileSync("/proc/stat", "latin1").split("\n")) {
    const f = line.split(/\s+/);
    if (f[0] !== `cpu${proxyCpu}` && f[0] !== `cpu${loadCpu}`) continue;
    const v = f.slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    cores[f[0]] = { busy: total - (v[3] ?? 0) - (v[4] ?? 0), usersys: (v[0] ?? 0) + (v[1] ?? 0) + (v[2] ?? 0), total, steal: v[7] ?? 0 };
  }
  return { t: performance.now(), ticks, cores };
}

export interface CpuDelta {
  steal_pct: number | null;
  cpu_proxy_proc_pct: number;
  cpu_proxy_core_pct: number | null;
  cpu_load_core_pct: number | null;
  /** user+system time on the proxy core: minus the proxy's own, it is what other processes took. */
  cpu_proxy_core_usersys_pct: number | null;
  proxy_cpu_us_per_op: number | null;
}

/** CPU use between two snapshots; `ops` operations were done in between. */
export function cpuDelta(a: CpuSnap, b: CpuSnap, proxyCpu: number, loadCpu: number, ops: number): CpuDelta {
  const secs = (b.t - a.t) / 1000;
  const pct = (c: number): number | null => {
    const x = a.cores[`cpu${c}`];
    const y = b.cores[`cpu${c}`];
    return x && y && y.total > x.total ? +((100 * (y.busy - x.busy)) / (y.total - x.total)).toFixed(1) : null;
  };
  const us = (c: number): number | null => {
    const x = a.cores[`cpu${c}`];
    const y = b.cores[`cpu${c}`];
    return x && y && y.total > x.total ? +((100 * (y.usersys - x.usersys)) / (y.total - x.total)).toFixed(1) : null;
  };
  const procSecs = (b.ticks - a.ticks) / HZ;
  let st = 0;
  let tot = 0;
  for (const [k, y] of Object.entries(b.cores)) {
    const x = a.cores[k];
    if (!x) continue;
    st += y.steal - x.steal;
    tot += y.total - x.total;
  }
  return {
    steal_pct: tot > 0 ? +((100 * st) / tot).toFixed(1) : null,
    cpu_proxy_proc_pct: secs > 0 ? +((100 * procSecs) / secs).toFixed(1) : 0,
    cpu_proxy_core_pct: pct(proxyCpu),
    cpu_load_core_pct: pct(loadCpu),
    cpu_proxy_core_usersys_pct: us(proxyCpu),
    proxy_cpu_us_per_op: ops > 0 ? +((procSecs * 1e6) / ops).toFixed(2) : null,
  };
}

/** The machine's CPU time and one process tree's, at one instant (ticks). */
export interface TreeSnap {
  /** user+nice+system over every CPU (/proc/stat). */
  usersys: number;
  /** Every tick of every CPU, idle included. */
  total: number;
  /** The process, the children it has reaped (cutime+cstime) and its live descendants. */
  tree: number;
}

/** Snapshot for `machineShare`: call it before a process tree starts and before it stops. */
export function treeSnap(pid = process.pid): TreeSnap {
  const f = statFields(pid);
  let tree = f ? Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) : 0; // fields 14-17
  for (const d of descendants(pid)) tree += procTicks(d);
  const v = (fs.readFileSync("/proc/stat", "latin1").split("\n", 1)[0] ?? "").split(/\s+/).slice(1, 9).map(Number);
  return { usersys: (v[0] ?? 0) + (v[1] ?? 0) + (v[2] ?? 0), total: v.reduce((a, b) => a + b, 0), tree };
}

/**
 * Between two snapshots, in % of the whole machine (every CPU): how busy it was, how much
 * of that the tree took, and the rest — other processes, the sign of a shared machine.
 */
export function machineShare(a: TreeSnap, b: TreeSnap): { busyPct: number; treePct: number; otherPct: number } {
  const total = b.total - a.total;
  if (total <= 0) return { busyPct: 0, treePct: 0, otherPct: 0 };
  const busy = b.usersys - a.usersys;
  const tree = b.tree - a.tree;
  const pct = (x: number): number => +((100 * x) / total).toFixed(1);
  return { busyPct: pct(busy), treePct: pct(tree), otherPct: pct(Math.max(0, busy - tree)) };
}
