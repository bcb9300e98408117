/**
 * The one convention every command-line tool of the repository follows (`pnpm keys`, `pnpm harness`,
 * `pnpm bench`, `pnpm stack`), on top of commander:
 *
 * - `--help` on any command or subcommand prints its usage on stdout and exits 0, starting nothing;
 * - a usage error (unknown option or command, missing or bad value, bad combination) prints ONE line
 *   on stderr, `error: <what> (run '<command> --help' for usage)`, and exits 2, never a stack trace;
 * - anything else an action returns is its own exit code (0 when it returns nothing).
 *
 * It lives in the channel package because every CLI already depends on it (`pnpm keys` is part of
 * it), under its own export (`@share-broker/channel/cli`) so services never load commander.
 * scripts/up.sh and scripts/test.sh follow the same convention in bash.
 */
import { Command, CommanderError, InvalidArgumentError } from "commander";

/** Exit status of a usage error. */
export const USAGE_ERROR_EXIT = 2;

/**
 * Thrown by an action for a bad value or combination commander cannot check by itself; reported
 * like commander's own usage errors.
 */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Option value parser: `--shares 20`. Commander reports a bad value as a usage error. */
export function positiveInteger(raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError("must be a positive integer");
  return value;
}

/** Option value parser: `--half-load-rate 2.5`. */
export function positiveNumber(raw: string): number {
  const value = Number(raw);
  if (!(value > 0) || !Number.isFinite(value)) throw new InvalidArgumentError("must be a positive number");
  return value;
}

/** Where a program writes; the process's streams unless a caller (a test) captures them. */
export interface CliOutput {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processOutput: CliOutput = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** What each program's actions returned, kept until runCli reads it. */
const exitCodes = new WeakMap<Command, number>();

function rootOf(command: Command): Command {
  let root = command;
  while (root.parent) root = root.parent;
  return root;
}

/** `pnpm keys generate`: the name as typed, for the hint after an error. */
function pathOf(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at; at = at.parent) names.unshift(at.name());
  return names.join(" ");
}

/** Commander's messages may span lines (a "Did you mean …?" suggestion): one line, with the hint. */
export function usageErrorLine(command: Command, message: string): string {
  const text = message
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .join(" ");
  const prefixed = text.startsWith("error: ") ? text : `error: ${text}`;
  return `${prefixed} (run '${pathOf(command)} --help' for usage)\n`;
}

/**
 * A program named as the user types it (`pnpm bench`). Subcommands added with `.command()` inherit
 * the output and exit handling; runCli gives each its own error line.
 */
export function createProgram(name: string, description: string, output = processOutput): Command {
  return new Command(name)
    .description(description)
    .configureOutput({ writeOut: output.stdout, writeErr: output.stderr })
    .exitOverride()
    .showSuggestionAfterError(true);
}

/**
 * Wraps an action so the number it returns (or resolves to) becomes runCli's exit code. Commander
 * calls an action with the command as `this`.
 */
export function exitCodeOf<Args extends unknown[]>(
  action: (...args: Args) => number | undefined | Promise<number | undefined>,
): (this: Command, ...args: Args) => Promise<void> {
  return async function (this: Command, ...args: Args) {
    const code = await action(...args);
    exitCodes.set(rootOf(this), code ?? 0);
  };
}

function eachCommand(command: Command, visit: (command: Command) => void): void {
  visit(command);
  for (const child of command.commands) eachCommand(child, visit);
}

/**
 * Parses `argv` (the user's arguments, without node and the script) and runs the chosen action.
 * Resolves to the exit code: 0 after help, USAGE_ERROR_EXIT after a usage error, else what the
 * action returned. Errors other than usage errors are the caller's to report.
 */
export async function runCli(program: Command, argv: readonly string[]): Promise<number> {
  let running: Command = program;
  program.hook("preAction", (_root, actionCommand) => {
    running = actionCommand;
  });
  eachCommand(program, (command) => {
    command.configureOutput({
      outputError: (message, write) => write(usageErrorLine(command, message)),
    });
  });
  try {
    await program.parseAsync([...argv], { from: "user" });
    return exitCodes.get(program) ?? 0;
  } catch (error) {
    if (error instanceof UsageError) {
      program.configureOutput().writeErr?.(usageErrorLine(running, error.message));
      return USAGE_ERROR_EXIT;
    }
    if (!(error instanceof CommanderError)) throw error;
    // Help (`--help`, `help <command>`) ends with exit code 0; everything else commander stops on is usage.
    return error.exitCode === 0 ? 0 : USAGE_ERROR_EXIT;
  }
}
