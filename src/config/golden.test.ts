// The gateway config's golden files (see golden.kit.ts): testdata/NAME.yaml against
// NAME.json or NAME.errors.txt. `UPDATE_GOLDEN=1` rewrites them.
import { join } from "node:path";
import { runGoldenTests } from "./golden.kit.ts";
import { loadConfig } from "./load.ts";

/** The environment every golden file sees; `${UNSET_*}` variables are missing on purpose. */
const env = {
  HOLDFAST_ADMIN_TOKEN: "test-admin-token",
  REDIS_URL: "redis://redis.internal:6379",
  WORKERS: "4",
  API_PORT: "8080",
  EMPTY: "",
};

runGoldenTests(join(import.meta.dirname, "testdata"), (text, baseDir) => loadConfig(text, { env, baseDir }), 10);
