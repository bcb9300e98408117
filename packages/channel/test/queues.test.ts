import { testRedisUrl, uniqueQueuePrefix } from "@share-broker/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ChannelConsumer,
  type ChannelProducer,
  channelQueuePrefix,
  createChannelConsumer,
  createChannelProducer,
  createDeadLetterQueue,
  type EnvelopeHandler,
  UnrecoverableError,
} from "../src/index.js";
import { waitFor } from "./support.js";

// The two Redis profiles of service-kit's createRedis(), which this package does not depend on.
let producerRedis: Redis;
let workerRedis: Redis;
const namespace = uniqueQueuePrefix("channel");
const prefix = channelQueuePrefix(namespace);
const closers: Array<() => Promise<void>> = [];
const silent = { warn: () => {}, error: () => {} };
let queueCount = 0;

beforeAll(() => {
  producerRedis = new Redis(testRedisUrl(), {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    lazyConnect: true,
  });
  workerRedis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  return producerRedis.connect();
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  const keys = await workerRedis.keys(`${prefix}:*`);
  if (keys.length > 0) await workerRedis.del(...keys);
  await producerRedis.quit();
  await workerRedis.quit();
});

function producer(queueName: string, jobOptions = {}): ChannelProducer {
  const created = createChannelProducer({
    connection: producerRedis,
    queueName,
    prefix,
    jobOptions,
    logger: silent,
  });
  closers.push(() => created.close());
  return created;
}

function consumer(queueName: string, handler: EnvelopeHandler): ChannelConsumer {
  const created = createChannelConsumer({
    connection: workerRedis,
    queueName,
    prefix,
    concurrency: 2,
    handler,
    logger: silent,
  });
  closers.push(() => created.close());
  return created;
}

const nextQueue = () => `inbox-test-${++queueCount}`;

describe("channel queues", () => {
  it("delivers a job sent under a share id once, and does not add the same id again", async () => {
    const queueName = nextQueue();
    const seen: string[] = [];
    const { worker } = consumer(queueName, async (envelope, job) => {
      seen.push(`${job.id}:${envelope}`);
    });
    const inbox = producer(queueName);
    expect(await inbox.send("share-1", "envelope-1")).toEqual({ added: true });
    await waitFor(async () => (await inbox.queue.getJobState("share-1")) === "completed");
    expect(await inbox.send("share-1", "envelope-1-again")).toEqual({ added: false });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seen).toEqual(["share-1:envelope-1"]);
    expect(worker.isRunning()).toBe(true);
  });

  it("adds a job id sent twice before any consumer runs only once", async () => {
    const inbox = producer(nextQueue());
    expect(await inbox.send("share-2", "envelope-a")).toEqual({ added: true });
    expect(await inbox.send("share-2", "envelope-b")).toEqual({ added: false });
    expect(await inbox.queue.getWaitingCount()).toBe(1);
    expect((await inbox.queue.getJob("share-2"))?.data).toEqual({ envelope: "envelope-a" });
  });

  it("tells a new job from a duplicate with the add script and one read of the stored job", async () => {
    const connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1, lazyConnect: true });
    await connection.connect();
    const commands: string[] = [];
    const sendCommand = connection.sendCommand.bind(connection);
    connection.sendCommand = ((command, stream) => {
      commands.push(command.name);
      return sendCommand(command, stream);
    }) as typeof connection.sendCommand;
    const inbox = createChannelProducer({ connection, queueName: nextQueue(), prefix, logger: silent });
    closers.push(async () => {
      await inbox.close();
      await connection.quit();
    });
    await inbox.send("share-warm-up", "envelope-0");
    const sends: Array<[string, string, boolean]> = [
      ["share-8", "envelope-a", true],
      ["share-8", "envelope-b", false],
      ["share-9", "envelope-c", true],
    ];
    for (const [jobId, envelope, added] of sends) {
      commands.length = 0;
      expect(await inbox.send(jobId, envelope)).toEqual({ added });
      expect(commands).toEqual(["evalsha", "hgetall"]);
    }
    expect(await producerRedis.hget(inbox.queue.toKey("share-8"), "data")).toBe(
      JSON.stringify({ envelope: "envelope-a" }),
    );
  });

  it("sends made together travel in one write to Redis, each with its own answer", async () => {
    const connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1, lazyConnect: true });
    await connection.connect();
    const inbox = createChannelProducer({ connection, queueName: nextQueue(), prefix, logger: silent });
    closers.push(async () => {
      await inbox.close();
      await connection.quit();
    });
    // The first send loads BullMQ's scripts; the batch below only runs them.
    await inbox.send("share-batch-warm-up", "envelope-0");
    const socket = (connection as unknown as { stream: { write: (...args: unknown[]) => boolean } }).stream;
    const write = socket.write.bind(socket);
    let writes = 0;
    socket.write = (...args: unknown[]) => {
      writes++;
      return write(...args);
    };
    const sends = [
      ...Array.from({ length: 50 }, (_, index) => inbox.send(`share-batch-${index}`, `envelope-${index}`)),
      inbox.send("share-batch-7", "envelope-7-again"),
      inbox.send("share-batch-warm-up", "envelope-0-again"),
    ];
    const answers = await Promise.all(sends);
    socket.write = write;
    expect(writes).toBe(1);
    expect(answers.slice(0, 50)).toEqual(Array.from({ length: 50 }, () => ({ added: true })));
    expect(answers.slice(50)).toEqual([{ added: false }, { added: false }]);
    expect(await inbox.queue.getWaitingCount()).toBe(51);
    expect((await inbox.queue.getJob("share-batch-7"))?.data).toEqual({ envelope: "envelope-7" });
  });

  it("fails every send of a batch when Redis is unreachable, and adds nothing", async () => {
    const connection = new Redis(testRedisUrl(), {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      lazyConnect: true,
    });
    await connection.connect();
    const inbox = createChannelProducer({ connection, queueName: nextQueue(), prefix, logger: silent });
    closers.push(() => inbox.close());
    await inbox.send("share-down-warm-up", "envelope-0");
    connection.disconnect();
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, (_, index) => inbox.send(`share-down-${index}`, `envelope-${index}`)),
    );
    expect(results.map((result) => result.status)).toEqual(Array.from({ length: 5 }, () => "rejected"));
    const stored = await Promise.all(
      Array.from({ length: 5 }, (_, index) => producerRedis.exists(inbox.queue.toKey(`share-down-${index}`))),
    );
    expect(stored).toEqual([0, 0, 0, 0, 0]);
  });

  it("gives jobs attempts with exponential backoff and bounded retention by age and count", async () => {
    const inbox = producer(nextQueue());
    await inbox.send("share-3", "envelope");
    const job = await inbox.queue.getJob("share-3");
    expect(job?.opts).toMatchObject({
      attempts: 8,
      backoff: { type: "exponential", delay: 2_000 },
      removeOnComplete: { age: 86_400, count: 10_000 },
      removeOnFail: { age: 604_800, count: 50_000 },
    });
  });

  it("does not retry a handler that throws UnrecoverableError", async () => {
    const queueName = nextQueue();
    let calls = 0;
    consumer(queueName, async () => {
      calls++;
      throw new UnrecoverableError("token rejected by Didit: 401");
    });
    const inbox = producer(queueName, { attempts: 5, backoff: { type: "fixed", delay: 10 } });
    await inbox.send("share-4", "envelope");
    await waitFor(async () => (await inbox.queue.getJobState("share-4")) === "failed");
    const job = await inbox.queue.getJob("share-4");
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toBe("token rejected by Didit: 401");
    expect(calls).toBe(1);
  });

  it("retries a transient error with exponential backoff until it succeeds", async () => {
    const queueName = nextQueue();
    const attempts: number[] = [];
    consumer(queueName, async () => {
      attempts.push(Date.now());
      if (attempts.length < 3) throw new Error("Didit answered 503");
    });
    const inbox = producer(queueName, { attempts: 4, backoff: { type: "exponential", delay: 200 } });
    await inbox.send("share-5", "envelope");
    await waitFor(async () => (await inbox.queue.getJobState("share-5")) === "completed");
    expect(attempts).toHaveLength(3);
    const [first, second, third] = attempts as [number, number, number];
    // 200 ms, then 400 ms; delayed jobs may start a little early or late.
    expect(second - first).toBeGreaterThanOrEqual(180);
    expect(third - second).toBeGreaterThanOrEqual(380);
    expect((await inbox.queue.getJob("share-5"))?.attemptsMade).toBe(3);
  });

  it("sets envelopes that cannot be opened aside in <queue>-dead, once per job id", async () => {
    const queueName = nextQueue();
    const dead = createDeadLetterQueue({ connection: producerRedis, queueName, prefix, logger: silent });
    closers.push(() => dead.close());
    expect(dead.queue.name).toBe(`${queueName}-dead`);
    expect(await dead.sendToDeadLetter("share-6", "envelope", "undecryptable")).toEqual({ added: true });
    expect(await dead.sendToDeadLetter("share-6", "envelope-again", "undecryptable")).toEqual({
      added: false,
    });
    expect((await dead.queue.getJob("share-6"))?.data).toMatchObject({
      envelope: "envelope",
      reason: "undecryptable",
      source_queue: queueName,
    });
  });

  it("keeps at most maxCount dead letters, removing the oldest first", async () => {
    const queueName = nextQueue();
    const dead = createDeadLetterQueue({
      connection: producerRedis,
      queueName,
      prefix,
      logger: silent,
      maxCount: 3,
    });
    closers.push(() => dead.close());
    for (const id of ["share-d1", "share-d2", "share-d3", "share-d4", "share-d5"]) {
      await dead.sendToDeadLetter(id, `envelope-${id}`, "malformed");
    }
    const kept = await dead.queue.getJobs(["wait"]);
    expect(kept.map((job) => job.id).sort()).toEqual(["share-d3", "share-d4", "share-d5"]);
  });

  it("removes dead letters older than maxAgeSeconds when the next one arrives", async () => {
    const queueName = nextQueue();
    const dead = createDeadLetterQueue({
      connection: producerRedis,
      queueName,
      prefix,
      logger: silent,
      maxAgeSeconds: 1,
    });
    closers.push(() => dead.close());
    await dead.sendToDeadLetter("share-old", "envelope-old", "malformed");
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await dead.sendToDeadLetter("share-new", "envelope-new", "malformed");
    expect(await dead.queue.getJob("share-old")).toBeUndefined();
    expect((await dead.queue.getJob("share-new"))?.data.envelope).toBe("envelope-new");
  });

  it("records a too-long envelope by its reason and size, without its body", async () => {
    const queueName = nextQueue();
    const dead = createDeadLetterQueue({
      connection: producerRedis,
      queueName,
      prefix,
      logger: silent,
      maxEnvelopeBytes: 100,
    });
    closers.push(() => dead.close());
    await dead.sendToDeadLetter("share-big", "x".repeat(101), "malformed");
    await dead.sendToDeadLetter("share-fits", "y".repeat(100), "malformed");
    expect((await dead.queue.getJob("share-big"))?.data).toMatchObject({
      envelope: "",
      envelope_omitted_bytes: 101,
      reason: "malformed",
      source_queue: queueName,
    });
    const fits = (await dead.queue.getJob("share-fits"))?.data;
    expect(fits?.envelope).toBe("y".repeat(100));
    expect(fits?.envelope_omitted_bytes).toBeUndefined();
  });

  it("refuses limits that are not positive integers", () => {
    expect(() =>
      createDeadLetterQueue({ connection: producerRedis, queueName: nextQueue(), prefix, maxCount: 0 }),
    ).toThrow(/maxCount must be a positive integer/);
  });

  it("keeps every key of a queue under the hash-tagged prefix, so they share one Redis Cluster slot", async () => {
    const queueName = nextQueue();
    consumer(queueName, async () => {});
    const inbox = producer(queueName);
    await inbox.send("share-7", "envelope");
    await waitFor(async () => (await inbox.queue.getJobState("share-7")) === "completed");
    const keys = await workerRedis.keys(`*${queueName}*`);
    expect(keys.length).toBeGreaterThan(3);
    for (const key of keys) expect(key.startsWith(`{${namespace}}:${queueName}:`)).toBe(true);
  });

  it("refuses names that would break keys or the hash tag", () => {
    expect(() => producer("inbox:a")).toThrow(/BullMQ reserves ':'/);
    expect(() =>
      createChannelProducer({ connection: producerRedis, queueName: "inbox-a", prefix: "share-broker" }),
    ).toThrow(/hash tag/);
    expect(() => channelQueuePrefix("a}b")).toThrow();
  });

  it("refuses job ids BullMQ would reject or misread", async () => {
    const inbox = producer(nextQueue());
    await expect(inbox.send("share:1", "envelope")).rejects.toThrow(/invalid job id/);
    await expect(inbox.send("12345", "envelope")).rejects.toThrow(/not an integer/);
  });
});
