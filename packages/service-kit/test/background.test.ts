import { describe, expect, it } from "vitest";
import { createLogger, DrainLoop } from "../src/index.js";

const logger = createLogger({ service: "t", level: "silent" });

describe("DrainLoop", () => {
  it("runs another pass at once when woken during a pass, instead of waiting a full poll", async () => {
    const passes: number[] = [];
    const loop: DrainLoop = new DrainLoop(
      "test",
      async () => {
        passes.push(Date.now());
        // New work commits while this pass is running.
        if (passes.length === 1) loop.wake();
        return false;
      },
      10_000,
      logger,
    );
    loop.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await loop.stop();
    expect(passes.length).toBeGreaterThanOrEqual(2);
    expect((passes[1] as number) - (passes[0] as number)).toBeLessThan(1_000);
  });

  it("idles between passes when not woken, and stop() ends it promptly", async () => {
    let passes = 0;
    const loop = new DrainLoop(
      "test",
      async () => {
        passes += 1;
        return false;
      },
      10_000,
      logger,
    );
    loop.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stopping = Date.now();
    await loop.stop();
    expect(passes).toBe(1);
    expect(Date.now() - stopping).toBeLessThan(1_000);
  });
});
