// The hub config's golden files (see config/golden.kit.ts): testdata/NAME.yaml against
// NAME.json or NAME.errors.txt. `UPDATE_GOLDEN=1` rewrites them.
import { join } from "node:path";
import { runGoldenTests } from "../../config/golden.kit.ts";
import { loadHubConfig } from "./load.ts";

/** The environment every golden file sees. */
const env = {
  HUB_JWT_SECRET: "a-test-secret-of-at-least-32-characters",
  HUB_API_TOKEN: "test-api-token",
  HUB_ADMIN_TOKEN: "test-admin-token",
  REDIS_URL: "redis://redis.internal:6379",
};

runGoldenTests(join(import.meta.dirname, "testdata"), (text, baseDir) => loadHubConfig(text, { env, baseDir }));
