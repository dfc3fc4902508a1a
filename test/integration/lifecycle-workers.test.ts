// The process-level graceful-stop tests (SIGTERM under HTTP load, under WebSocket load)
// against the multi-process gateway: the primary and two workers. The tests themselves
// are lifecycle-process.test.ts's (see ALSO_WITH_WORKERS there).
process.env.HOLDFAST_TEST_WORKERS = "2";
process.env.HOLDFAST_TEST_WORKERS_SUBSET = "1";
await import("./lifecycle-process.test.ts");
