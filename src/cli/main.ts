import { Command } from "commander";
import { runGateway } from "./gateway.ts";
import { runReload } from "./reload.ts";
import { runCheckCommand } from "./check.ts";
import { DEFAULT_ADMIN_URL, runStatus } from "./status.ts";

/**
 * `holdfast` command line. With no arguments it runs the embedded demo.
 *
 * @example
 * holdfast                      # the demo: backends + gateway on :8080
 * holdfast check -c holdfast.yaml
 * holdfast gateway -c holdfast.yaml
 * holdfast hub -c hub.yaml
 * holdfast status --admin http://127.0.0.1:9900
 */
const program = new Command()
  .name("holdfast")
  .description("Persistent connections that survive the cloud: an L4/L7 gateway for long-lived connections.\nWith no command, runs the embedded demo.")
  .version("0.1.0")
  .showHelpAfterError();

program
  .command("gateway")
  .description("run the gateway with a config file")
  .requiredOption("-c, --config <file>", "YAML config file (see docs/config.md)")
  .option("--pid-file <file>", "where to write the pid (default: a file in the temp dir derived from the config path)")
  .option("--watch", "reload when the config file or a TLS file it names changes")
  .addHelpText("after", "\nSignals: SIGHUP reloads the config; SIGTERM/SIGINT stop gracefully (a second one exits at once).")
  .action(async (opts: { config: string; pidFile?: string; watch?: boolean }) => {
    process.exitCode = await runGateway(opts.config, { pidFile: opts.pidFile, watch: opts.watch });
  });

program
  .command("hub")
  .description("run the realtime hub (channels, presence, history and resume) with a hub config file")
  .requiredOption("-c, --config <file>", "YAML hub config file (see docs/hub.md); without broker: the embedded memory broker")
  .addHelpText("after", "\nSignals: SIGTERM/SIGINT stop gracefully (healthz 503, clients closed with 1012 + retry-after spread over shutdown.spread); a second one exits at once.")
  .action(async (opts: { config: string }) => {
    // Loaded on demand: the gateway's start (and its signal handling) pays nothing for the hub.
    const { runHub } = await import("./hub.ts");
    process.exitCode = await runHub(opts.config);
  });

program
  .command("reload")
  .description("make a running gateway re-read its config (invalid configs are refused; the old one keeps serving)")
  .option("-c, --config <file>", "the config file the gateway was started with")
  .option("--pid-file <file>", "the gateway's pid file")
  .action((opts: { config?: string; pidFile?: string }) => {
    process.exitCode = runReload(opts);
  });

program
  .command("check")
  .description("validate a config file (gateway or hub): prints every error with its path, exits 1 if any")
  .requiredOption("-c, --config <file>", "YAML config file")
  .action(async (opts: { config: string }) => {
    process.exitCode = await runCheckCommand(opts.config);
  });

program
  .command("status")
  .description("print every listener, backend and server (state, weight, connections, req/s, errors, latency, checks) from a running gateway's admin API")
  .option("--admin <url>", "the gateway's admin address (admin.listen)", DEFAULT_ADMIN_URL)
  .option("--json", "print the raw overview JSON instead of the table")
  .action(async (opts: { admin: string; json?: boolean }) => {
    process.exitCode = await runStatus(opts);
  });

program
  .command("demo", { isDefault: true })
  .description("run the embedded demo (default): HTTP echo, SSE and WebSocket backends behind a gateway")
  .option("-p, --port <port>", "gateway port", "8080")
  .action(async (opts: { port: string }) => {
    const { runDemo } = await import("./demo.ts");
    process.exitCode = await runDemo(Number(opts.port));
  });

await program.parseAsync(process.argv);
