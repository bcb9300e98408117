/**
 * Crash injection for tests of "nothing lost": a process started with FAILPOINTS=after-mint dies
 * abruptly (SIGKILL, no cleanup) when it reaches `failpoint("after-mint")`. Production ignores it.
 */
export function failpoint(name: string, env: Record<string, string | undefined> = process.env): void {
  if (env.NODE_ENV === "production") return;
  const enabled = (env.FAILPOINTS ?? "").split(",").map((point) => point.trim());
  if (enabled.includes(name)) {
    process.stderr.write(`failpoint ${name} reached: killing the process\n`);
    process.kill(process.pid, "SIGKILL");
  }
}
