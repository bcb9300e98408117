import { fileURLToPath } from "node:url";
import { type RedisServer, startRedisServer } from "@share-broker/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  channelQueuePrefix,
  createChannelConsumer,
  createChannelProducer,
  createDeadLetterQueue,
} from "../src/index.js";
import { waitFor } from "./support.js";

/**
 * The shipped ACL file (infra/redis/users.acl) on a Redis of its own: each partner connects as its
 * own user, with the credentials in the URL as REDIS_URL carries them.
 */
const aclFile = fileURLToPath(new URL("../../../infra/redis/users.acl", import.meta.url));
const prefix = channelQueuePrefix();
const silent = { warn: () => {}, error: () => {} };
const passwords = {
  "partner-a": "dev-partner-a-redis-password",
  "partner-b": "dev-partner-b-redis-password",
} as const;
/** A plain command is refused with NOPERM; a command inside a BullMQ script with this ERR. */
const DENIED = /NOPERM|can't access at least one of the keys/;
let server: RedisServer;
let port: number;
const connections: Redis[] = [];
const closers: Array<() => Promise<void>> = [];

function connectAs(user: keyof typeof passwords, worker = false): Redis {
  const url = `redis://${user}:${passwords[user]}@127.0.0.1:${port}`;
  const redis = new Redis(
    url,
    worker ? { maxRetriesPerRequest: null } : { maxRetriesPerRequest: 1, enableOfflineQueue: true },
  );
  connections.push(redis);
  return redis;
}

beforeAll(async () => {
  server = await startRedisServer({
    args: ["--aclfile", aclFile],
    probe: (port) => ({ url: `redis://partner-a:${passwords["partner-a"]}@127.0.0.1:${port}` }),
  });
  port = server.port;
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  for (const redis of connections) redis.disconnect();
  await server.stop();
});

describe("the Redis ACL users of infra/redis/users.acl", () => {
  it("lets the default user PING (health checks) and nothing else, so every client authenticates", async () => {
    const anonymous = new Redis(port, "127.0.0.1", {
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      enableReadyCheck: false,
    });
    anonymous.on("error", () => {});
    connections.push(anonymous);
    await anonymous.connect();
    expect(await anonymous.ping()).toBe("PONG");
    await expect(anonymous.get(`${prefix}:inbox-partner-b:wait`)).rejects.toThrow(DENIED);
    await expect(anonymous.call("EVAL", "return 1", "0")).rejects.toThrow(DENIED);
  });

  it("lets the offer reach partner-b's inbox and the result reach partner-a's results queue", async () => {
    const offers = createChannelProducer({
      connection: connectAs("partner-a"),
      queueName: "inbox-partner-b",
      prefix,
      logger: silent,
    });
    const results = createChannelProducer({
      connection: connectAs("partner-b"),
      queueName: "results-partner-a",
      prefix,
      logger: silent,
    });
    closers.push(
      () => offers.close(),
      () => results.close(),
    );
    const received: string[] = [];
    const importer = createChannelConsumer({
      connection: connectAs("partner-b", true),
      queueName: "inbox-partner-b",
      prefix,
      logger: silent,
      handler: async (envelope, job) => {
        await results.send(job.id as string, `result-of-${envelope}`);
      },
    });
    const sharer = createChannelConsumer({
      connection: connectAs("partner-a", true),
      queueName: "results-partner-a",
      prefix,
      logger: silent,
      handler: async (envelope) => {
        received.push(envelope);
      },
    });
    closers.push(
      () => importer.close(),
      () => sharer.close(),
    );
    expect(await offers.send("share-1", "offer-envelope")).toEqual({ added: true });
    await waitFor(async () => received.length === 1);
    expect(received).toEqual(["result-of-offer-envelope"]);

    const dead = createDeadLetterQueue({
      connection: connectAs("partner-b"),
      queueName: "inbox-partner-b",
      prefix,
      logger: silent,
    });
    closers.push(() => dead.close());
    expect(await dead.sendToDeadLetter("share-2", "bad", "malformed")).toEqual({ added: true });
  });

  it("keeps partner-b away from partner-a's queues beyond adding results", async () => {
    const b = connectAs("partner-b");
    await results(b).add("envelope", { envelope: "x" }, { jobId: "share-b1" });
    // Its own results job hash, which adding needs, but not deleting or reshaping it.
    await expect(b.del(`${prefix}:results-partner-a:share-b1`)).rejects.toThrow(DENIED);
    await expect(b.lrem(`${prefix}:results-partner-a:wait`, 0, "share-b1")).rejects.toThrow(DENIED);
    await expect(
      b.call(
        "LMOVE",
        `${prefix}:results-partner-a:wait`,
        `${prefix}:results-partner-a:active`,
        "RIGHT",
        "LEFT",
      ),
    ).rejects.toThrow(DENIED);
    await expect(results(b).obliterate({ force: true })).rejects.toThrow(DENIED);
    const a = connectAs("partner-a");
    expect(await a.hget(`${prefix}:results-partner-a:share-b1`, "data")).toBe('{"envelope":"x"}');
    // Nothing of partner-a's own inbox, nor of its dead letters.
    for (const key of [`${prefix}:inbox-partner-a:wait`, `${prefix}:results-partner-a-dead:wait`]) {
      await expect(b.lrange(key, 0, -1)).rejects.toThrow(DENIED);
      await expect(b.xadd(key.replace(/wait$/, "events"), "*", "event", "added")).rejects.toThrow(DENIED);
    }
    await expect(
      createChannelProducer({ connection: b, queueName: "inbox-partner-a", prefix, logger: silent }).send(
        "share-b2",
        "envelope",
      ),
    ).rejects.toThrow(DENIED);
    await expect(b.call("KEYS", "*")).rejects.toThrow(DENIED);
    await expect(b.call("FLUSHALL")).rejects.toThrow(DENIED);
  });

  it("keeps partner-a from consuming or deleting partner-b's inbox jobs", async () => {
    const a = connectAs("partner-a");
    await expect(a.del(`${prefix}:inbox-partner-b:share-1`)).rejects.toThrow(DENIED);
    await expect(
      a.call("LMOVE", `${prefix}:inbox-partner-b:wait`, `${prefix}:inbox-partner-b:active`, "RIGHT", "LEFT"),
    ).rejects.toThrow(DENIED);
    await expect(inbox(a).obliterate({ force: true })).rejects.toThrow(DENIED);
    const b = connectAs("partner-b");
    expect(await b.exists(`${prefix}:inbox-partner-b:share-1`)).toBe(1);
    await expect(a.lrange(`${prefix}:inbox-partner-b-dead:wait`, 0, -1)).rejects.toThrow(DENIED);
  });
});

function results(connection: Redis): Queue {
  const queue = new Queue("results-partner-a", { connection, prefix });
  closers.push(() => queue.close());
  return queue;
}

function inbox(connection: Redis): Queue {
  const queue = new Queue("inbox-partner-b", { connection, prefix });
  closers.push(() => queue.close());
  return queue;
}
