/** Status lines on stderr, so stdout carries only the results table. */
export function say(text: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}

/** Runs `work` over 0..count-1 with at most `concurrency` in flight; reports progress every 2 s. */
export async function forEachConcurrently(
  count: number,
  concurrency: number,
  work: (index: number) => Promise<void>,
  label?: string,
): Promise<void> {
  let next = 0;
  let done = 0;
  const started = Date.now();
  const timer = label
    ? setInterval(() => {
        const rate = done / ((Date.now() - started) / 1000);
        say(`${label}: ${done}/${count} (${rate.toFixed(0)}/s)`);
      }, 2_000)
    : undefined;
  try {
    await Promise.all(
      Array.from({ length: Math.min(concurrency, count) }, async () => {
        while (next < count) {
          const index = next++;
          await work(index);
          done += 1;
        }
      }),
    );
  } finally {
    clearInterval(timer);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `progress` until it reports `done >= total`; fails when it has not moved for `stallMs`.
 * Returns the last reading.
 */
export async function waitForProgress(
  what: string,
  total: number,
  progress: () => Promise<{ done: number; detail?: string }>,
  stallMs: number,
  pollMs = 250,
): Promise<void> {
  let last = -1;
  let movedAt = Date.now();
  let reportedAt = Date.now();
  for (;;) {
    const { done, detail } = await progress();
    if (done >= total) return;
    if (done !== last) {
      last = done;
      movedAt = Date.now();
    }
    if (Date.now() - reportedAt > 5_000) {
      reportedAt = Date.now();
      say(`${what}: ${done}/${total}${detail ? ` (${detail})` : ""}`);
    }
    if (Date.now() - movedAt > stallMs) {
      throw new Error(
        `${what}: stuck at ${done}/${total} for ${stallMs / 1000} s${detail ? ` (${detail})` : ""}`,
      );
    }
    await sleep(pollMs);
  }
}
