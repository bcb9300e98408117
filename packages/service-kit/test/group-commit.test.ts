import { describe, expect, it } from "vitest";
import { GroupCommit } from "../src/group-commit.js";

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
    const group = new GroupCommit(write, { maxBatch: 100, maxInFlight: 1 });
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
    const group = new GroupCommit(write, { maxBatch: 2, maxInFlight: 2 });
    const all = [1, 2, 3, 4, 5, 6, 7].map((item) => group.submit(item));
    expect(batches).toEqual([[1], [2]]);
    await finishNext();
    expect(batches).toEqual([[1], [2], [3, 4]]);
    for (let i = 0; i < 4; i++) await finishNext();
    expect(batches).toEqual([[1], [2], [3, 4], [5, 6], [7]]);
    expect(await Promise.all(all)).toEqual([10, 20, 30, 40, 50, 60, 70]);
  });

  it("rejects every call of a failed batch and goes on with the next", async () => {
    let fail = true;
    const group = new GroupCommit(
      async (items: string[]) => {
        await new Promise((resolve) => setImmediate(resolve));
        if (fail) {
          fail = false;
          throw new Error("unique violation");
        }
        return items.map((item) => item.toUpperCase());
      },
      { maxBatch: 10, maxInFlight: 1 },
    );
    const first = group.submit("a");
    const second = group.submit("b");
    await expect(first).rejects.toThrow("unique violation");
    expect(await second).toBe("B");
  });

  it("rejects a batch whose write answers the wrong number of outputs", async () => {
    const group = new GroupCommit(async (items: number[]) => items.slice(1), {
      maxBatch: 10,
      maxInFlight: 1,
    });
    await expect(group.submit(1)).rejects.toThrow("0 outputs for 1 items");
  });
});
