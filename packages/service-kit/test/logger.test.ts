import { describe, expect, it } from "vitest";
import { createApp, createLogger, REDACTED, redactDeep } from "../src/index.js";

function capture() {
  const lines: string[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(line) } };
}

describe("logger redaction", () => {
  it("redacts secret keys at any depth, case-insensitively", () => {
    const out = redactDeep({
      headers: { Authorization: "Bearer abc", "X-Api-Key": "k" },
      job: { data: [{ share_token: "eyJ.x.y" }], nested: { deeper: { webhook_secret: "s", ok: 1 } } },
      body: { user_id: "u-1", Link_Code: "q3Zr8Kx1vN0bT6yW2mLcH9sD4fGjP7aE5uQiV0oXk1M" },
    }) as any;
    expect(out.headers.Authorization).toBe(REDACTED);
    expect(out.headers["X-Api-Key"]).toBe(REDACTED);
    expect(out.job.data[0].share_token).toBe(REDACTED);
    expect(out.job.nested.deeper).toEqual({ webhook_secret: REDACTED, ok: 1 });
    expect(out.body).toEqual({ user_id: "u-1", Link_Code: REDACTED });
  });

  it("blanks configured secret values wherever they appear in a line", () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: "t", secrets: ["super-secret-value-1"], destination });
    logger.error({ err: new Error("connect to https://user:super-secret-value-1@host failed") }, "boom");
    logger.info({ note: "contains super-secret-value-1 inline" }, "msg super-secret-value-1");
    const text = lines.join("");
    expect(text).not.toContain("super-secret-value-1");
    expect(text).toContain(REDACTED);
  });

  it("puts the service name on every line", () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: "partner-x", destination });
    logger.info("one");
    logger.child({ share_id: "s1" }).warn("two");
    expect(lines.map((line) => JSON.parse(line).service)).toEqual(["partner-x", "partner-x"]);
  });

  it("logs a request's route pattern, never its path or query, which carry user ids", async () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: "t", destination });
    const app = await createApp({ service: "t", logger, apiKeys: [], authenticate: "none" });
    app.get("/v1/users/:user_id/verification", async () => ({ ok: true }));
    app.get("/v1/audit", async () => ({ events: [] }));
    try {
      await app.inject({ method: "GET", url: "/v1/users/user-4711-private/verification" });
      await app.inject({ method: "GET", url: "/v1/audit?user_id=user-4711-private" });
      await app.inject({ method: "GET", url: "/nowhere/user-4711-private" });
    } finally {
      await app.close();
    }
    const text = lines.join("");
    expect(text).not.toContain("user-4711-private");
    const incoming = lines
      .map((line) => JSON.parse(line))
      .filter((entry) => entry.msg === "incoming request");
    expect(incoming.map((entry) => entry.req)).toEqual([
      { method: "GET", route: "/v1/users/:user_id/verification", remote_address: "127.0.0.1" },
      { method: "GET", route: "/v1/audit", remote_address: "127.0.0.1" },
      { method: "GET", route: "(no route)", remote_address: "127.0.0.1" },
    ]);
  });
});
