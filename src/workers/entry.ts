// The script node:cluster runs in each data-plane worker.
import { runWorker } from "./worker.ts";

await runWorker();
