// Runs one in-process micro-benchmark of bench/ (e.g. policies.ts -> benchPolicies())
// in a child process, so the driver can pin it and bound it in time.
// Usage: node run-micro.ts FILE EXPORT   (FILE relative to bench/). Prints "ROWS <json>".
const [file, fn] = process.argv.slice(2);
if (!file || !fn) {
  console.error("usage: run-micro.ts FILE EXPORT");
  process.exit(2);
}
const mod = (await import(new URL(`../${file}`, import.meta.url).href)) as Record<string, unknown>;
const f = mod[fn];
if (typeof f !== "function") {
  console.error(`bench/${file} does not export ${fn}()`);
  process.exit(3);
}
const rows: unknown = await (f as () => unknown)();
console.log("ROWS " + JSON.stringify(rows));
process.exit(0);
