import { runCheck } from "../config/check.ts";

/** `holdfast check -c FILE`: exit code 0 when valid, 1 with every error listed, 2 unreadable. */
export async function runCheckCommand(file: string): Promise<number> {
  return runCheck(file, process.stdout, process.stderr);
}
