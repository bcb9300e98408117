import { describe, expect, it } from "vitest";
import { SandboxClock } from "../src/clock.js";
import { ClockScheduler } from "../src/scheduler.js";

describe("ClockScheduler", () => {
  it("holds 200,000 pending session expiries and still runs the due ones when the clock moves", async () => {
    const clock = new SandboxClock();
    const errors: unknown[] = [];
    const scheduler = new ClockScheduler(clock, (error) => errors.push(error));
    const ran: number[] = [];
    const start = clock.now();
    for (let i = 0; i < 200_000; i += 1) scheduler.at(start + 7 * 86_400_000 + i, () => undefined);
    scheduler.at(start + 1_000, () => ran.push(1));
    scheduler.at(start + 2_000, () => ran.push(2));
    expect(scheduler.pending).toBe(200_002);
    clock.advance(1_500);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ran).toEqual([1]);
    clock.advance(1_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ran).toEqual([1, 2]);
    expect(scheduler.pending).toBe(200_000);
    expect(errors).toEqual([]);
    scheduler.stop();
  });
});
