import { describe, expect, it } from "vitest";
import { GroupCommit, type GroupCommitOptions } from "../src/group-commit.js";

/** Options whose fallback path must not be taken: these batches all succeed. */
function noFallback<I, O>(
  sizes: Pick<GroupCommitOptions<I, O>, "maxBatch" | "maxInFlight">,
): GroupCommitOptions<I, O> {
  const unexpected = () => {
    throw new Error("no batch of this test should fail");
  };
  return { ...sizes, alone: unexpected, onFallback: unexpected };
}

/** A write whose statements finish only when the test says so, recording each batch it got. */
function controlledWrite() {
  const batches: number[][] = [];
  const pending: Array<() => void> = [];
  const write = async (items: number[]) => {
    batches.push(items);
    await new Promise<void>((resolve) => pending.push(resolve));
    return items.map((item) => item * 10);
  };
  const finishNext = async () => {
    pending.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { batches, write, finishNext, pending };
}

describe("group commit", () => {
  it("writes a lone call at once, and groups the calls that arrive while a statement is in flight", async () => {
    const { batches, write, finishNext } = controlledWrite();
    const group = new GroupCommit(write, noFallback({ maxBatch: 100, maxInFlight: 1 }));
    const first = group.submit(1);
    expect(batches).toEqual([[1]]);
    const later = [2, 3, 4].map((item) => group.submit(item));
    expect(batches).toHaveLength(1);
    await finishNext();
    expect(await first).toBe(10);
    expect(batches).toEqual([[1], [2, 3, 4]]);
    await finishNext();
    expect(await Promise.all(later)).toEqual([20, 30, 40]);
  });

  it("keeps at most maxInFlight statements and maxBatch items per statement", async () => {
    const { batches, write, finishNext } = controlledWrite();
    const group = new GroupCommit(write, noFallback({ maxBatch: 2, maxInFlight: 2 }));
    const all = [1, 2, 3, 4, 5, 6, 7].map((item) => group.submit(item));
    expect(batches).toEqual([[1], [2]]);
    await finishNext();
    expect(batches).toEqual([[1], [2], [3, 4]]);
    for (let i = 0; i < 4; i++) await finishNext();
    expect(batches).toEqual([[1], [2], [3, 4], [5, 6], [7]]);
    expect(await Promise.all(all)).toEqual([10, 20, 30, 40, 50, 60, 70]);
  });

  it("sends every item of a failed batch its own way, tells onFallback once, and goes on with the next", async () => {
    let fail = true;
    const fallbacks: Array<{ error: unknown; items: number }> = [];
    const alone: string[] = [];
    const group = new GroupCommit(
      async (items: string[]) => {
        await new Promise((resolve) => setImmediate(resolve));
        if (fail && items.length > 1) {
          fail = false;
          throw new Error("unique violation");
        }
        return items.map((item) => item.toUpperCase());
      },
      {
        maxBatch: 10,
        maxInFlight: 1,
        alone: async (item) => {
          alone.push(item);
          if (item === "bad") throw new Error("bad on its own too");
          return `alone:${item}`;
        },
        onFallback: (error, items) => fallbacks.push({ error, items }),
      },
    );
    const plug = group.submit("plug");
    const failed = ["a", "bad", "b"].map((item) => group.submit(item));
    expect(await plug).toBe("PLUG");
    const settled = await Promise.allSettled(failed);
    expect(settled.map((result) => (result.status === "fulfilled" ? result.value : "rejected"))).toEqual([
      "alone:a",
      "rejected",
      "alone:b",
    ]);
    expect(String((settled[1] as PromiseRejectedResult).reason)).toContain("bad on its own too");
    expect(alone).toEqual(["a", "bad", "b"]);
    expect(fallbacks).toEqual([{ error: new Error("unique violation"), items: 3 }]);
    expect(await group.submit("c")).toBe("C");
    expect(fallbacks).toHaveLength(1);
  });

  it("treats a write that answers the wrong number of outputs as a failed batch", async () => {
    const reported: unknown[] = [];
    const group = new GroupCommit(async (items: number[]) => items.slice(1), {
      maxBatch: 10,
      maxInFlight: 1,
      alone: async (item) => item * 100,
      onFallback: (error) => reported.push(error),
    });
    expect(await group.submit(1)).toBe(100);
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({ code: "group_commit_mismatch" });
    expect(String(reported[0])).toContain("0 outputs for 1 items");
  });
});
