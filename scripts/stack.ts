/**
 * `bash scripts/up.sh` (or `pnpm stack` after a build): migrates the partner databases, starts the
 * Didit sandbox, partner-a and partner-b with the development configuration (infra/dev), waits
 * until each answers /readyz, starts the console, runs one demo share end to end and prints each
 * step, then streams every service's log lines, each prefixed with its name, until Ctrl-C (or
 * SIGTERM) stops them all cleanly.
 *
 * Flags and environment: `pnpm stack --help` (the program at the end of this file).
 */
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createProgram, exitCodeOf, runCli } from "@share-broker/channel/cli";
import { loadStackConfig, type ServicePlan, type StackConfig, StackConfigError } from "./stack/config.js";
import { runDemo } from "./stack/demo.js";
import { StackOutput } from "./stack/logs.js";
import { assertPortFree, StackProcesses } from "./stack/processes.js";

const root = fileURLToPath(new URL("..", import.meta.url));

interface StackFlags {
  demo: boolean;
  exitAfterDemo?: boolean;
  demoOnly?: boolean;
  interactive?: boolean;
  verbose?: boolean;
  rawLogs?: boolean;
}

async function runStack(flags: StackFlags): Promise<void> {
  const exitAfterDemo = Boolean(flags.exitAfterDemo || flags.demoOnly);
  const interactive = Boolean(flags.interactive) && Boolean(process.stdin.isTTY && process.stdout.isTTY);

  const output = new StackOutput({
    colour: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
    rawLogs: Boolean(flags.rawLogs),
    verbose: Boolean(flags.verbose),
  });

  let config: StackConfig;
  try {
    config = loadStackConfig(root, process.env);
  } catch (error) {
    if (!(error instanceof StackConfigError)) throw error;
    output.say(`cannot start the stack: ${error.message}`);
    process.exit(2);
  }
  const processes = new StackProcesses(config, output);

  let stopping: Promise<never> | undefined;
  function stop(code: number): Promise<never> {
    stopping ??= (async () => {
      output.say("stopping the stack");
      await processes.stopAll();
      if (config.runtimeDir) rmSync(config.runtimeDir, { recursive: true, force: true });
      output.say(code === 0 ? "stopped" : `stopped (exit ${code})`);
      process.exit(code);
    })();
    return stopping;
  }
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  processes.onUnexpectedExit((plan, code, signal) => {
    output.say(`${plan.name} exited unexpectedly (code ${code}, signal ${signal}); stopping the stack`);
    void stop(1);
  });

  const withoutPassword = (url: string) => url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
  const services: ServicePlan[] = [config.sandbox, config.partnerA, config.partnerB];

  try {
    for (const plan of [...services, config.console]) await assertPortFree(plan.port, plan.name);
    output.say(
      `migrating partner-a (${withoutPassword(config.partnerA.env.DATABASE_URL ?? "")}) and partner-b (${withoutPassword(config.partnerB.env.DATABASE_URL ?? "")})`,
    );
    await Promise.all([processes.migrate(config.partnerA), processes.migrate(config.partnerB)]);
    output.say(`starting didit-sandbox, partner-a and partner-b${config.fromSource ? " from source" : ""}`);
    for (const plan of services) processes.start(plan);
    await Promise.all(services.map((plan) => processes.waitReady(plan)));
    processes.start(config.console);
    await processes.waitReady(config.console);
    output.say("the stack is ready:");
    output.say(
      `  didit-sandbox  ${config.sandbox.url}   (Didit v3 emulator, hosted pages, /sandbox control API)`,
    );
    output.say(`  partner-a      ${config.partnerA.url}   (Authorization: Bearer ${config.keys.partnerA})`);
    output.say(`  partner-b      ${config.partnerB.url}   (Authorization: Bearer ${config.keys.partnerB})`);
    output.say(
      `  console        ${config.console.url}/  (read-only web page: shares, imports, audit trails)`,
    );
  } catch (error) {
    output.say(`cannot start the stack: ${(error as Error).message}`);
    await stop(1);
  }

  if (flags.demo) {
    if (flags.interactive && !interactive) {
      output.say("--interactive needs a terminal: the demo finishes the hosted page through the control API");
    }
    const ok = await runDemo(config, output, { interactive });
    if (exitAfterDemo) await stop(ok ? 0 : 1);
  }
  if (exitAfterDemo) await stop(0);
  output.say("the stack is running; Ctrl-C stops everything");
}

const program = createProgram(
  "pnpm stack",
  "Migrates the partner databases, starts the Didit sandbox, partner-a, partner-b and the console with the " +
    "development configuration (infra/dev), runs one demo share end to end, then streams every service's " +
    "log lines until Ctrl-C. Runs the builds (dist/) unless STACK_FROM_SOURCE=1; bash scripts/up.sh " +
    "installs and builds first.",
)
  .option("--no-demo", "start the stack without the demo share")
  .option(
    "--exit-after-demo",
    "stop after the demo: exit 0 when the share ended imported at both sides, 1 otherwise",
  )
  .option("--demo-only", "the same as --exit-after-demo")
  .option("--interactive", "on a terminal, wait for you to finish the hosted page in a browser")
  .option("--verbose", "also log successful GET requests (the console polls every second)")
  .option("--raw-logs", "print the services' JSON log lines as they are")
  .addHelpText(
    "after",
    "\nEnvironment: STACK_PORTS=a,b,sandbox,console (default 3001,3002,3003,3000),\n" +
      "STACK_PARTNER_A_DATABASE_URL, STACK_PARTNER_B_DATABASE_URL, STACK_KEYS_DIR (default .keys),\n" +
      "STACK_APPLICATIONS_FILE, STACK_FROM_SOURCE=1 (run src/ through tsx: no build needed), and\n" +
      "LOG_LEVEL, REDIS_URL, QUEUE_PREFIX for every service.\n\n" +
      "Exit status: 0 stopped cleanly (or the demo share was imported, with --exit-after-demo); 1 the\n" +
      "stack failed or the demo share did not end imported; 2 usage or configuration error.",
  )
  .action(exitCodeOf(runStack));

// While the stack runs, the process stays up; it ends through stop() or here after a usage error.
process.exitCode = await runCli(program, process.argv.slice(2));
