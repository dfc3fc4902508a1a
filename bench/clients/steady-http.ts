// A steady HTTP request load: --rate requests per second over --conns keep-alive
// connections for --duration seconds, whatever the answers take (requests that find
// every connection busy wait their turn). Prints one JSON line at the end:
// {"sent","ok","non2xx","errors","p50_ms","p99_ms","first_error"}.
// Usage: node steady-http.ts --port=8080 --path=/h --rate=1000 --conns=20 --duration=1800
import http from "node:http";
import { parseArgs } from "./wsraw.ts";

const o = parseArgs(process.argv.slice(2), { port: 0, path: "/", rate: 1000, conns: 20, duration: 60 });
const agent = new http.Agent({ keepAlive: true, maxSockets: o.conns });
let sent = 0, ok = 0, non2xx = 0, errors = 0;
let firstError: string | null = null;
const lat: number[] = [];

function one(): void {
  sent++;
  const t0 = performance.now();
  const req = http.get({ host: "127.0.0.1", port: o.port, path: o.path, agent }, (res) => {
    res.resume();
    res.on("end", () => {
      if (res.statusCode === 200) ok++;
      else non2xx++;
      if (lat.length < 200_000) lat.push(performance.now() - t0);
    });
  });
  req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
  req.on("error", (e) => {
    errors++;
    firstError ??= e.message;
  });
}

// The schedule follows the wall clock, so a late timer catches up instead of losing requests.
const start = performance.now();
const timer = setInterval(() => {
  const due = Math.floor(((performance.now() - start) / 1000) * o.rate);
  while (sent < due) one();
}, 10);

setTimeout(() => {
  clearInterval(timer);
  setTimeout(() => {
    lat.sort((a, b) => a - b);
    const q = (p: number) => (lat.length ? +(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] as number).toFixed(3) : null);
    console.log(JSON.stringify({ sent, ok, non2xx, errors, p50_ms: q(0.5), p99_ms: q(0.99), first_error: firstError }));
    agent.destroy();
    process.exit(0);
  }, 2000);
}, o.duration * 1000);
process.on("SIGTERM", () => process.exit(0));
