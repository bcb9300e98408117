import { describe, expect, it } from "vitest";
import { webhookEventKey } from "../src/index.js";

const documented = {
  webhook_type: "status.updated",
  timestamp: 1_774_970_000,
  session_id: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
  status: "Approved",
};

describe("webhookEventKey", () => {
  it("is the event_id when the delivery carries one", () => {
    expect(webhookEventKey({ ...documented, event_id: "9c0c8b8a-1111-4222-9333-444444444444" })).toBe(
      "9c0c8b8a-1111-4222-9333-444444444444",
    );
  });

  it("is a stable hash of session, status, type and timestamp without one", () => {
    const key = webhookEventKey(documented);
    expect(key).toMatch(/^sha256:[0-9a-f]{64}$/);
    // Fields outside the identity (vendor_data, decision, metadata) do not change it.
    expect(webhookEventKey({ ...documented, vendor_data: "x", metadata: { a: 1 } })).toBe(key);
  });

  it.each([
    ["session_id", { session_id: "bbbbbbbb-bbbb-cccc-dddd-eeeeeeeeeeee" }],
    ["status", { status: "Declined" }],
    ["webhook_type", { webhook_type: "data.updated" }],
    ["timestamp", { timestamp: 1_774_970_001 }],
  ])("changes with the %s", (_field, change) => {
    expect(webhookEventKey({ ...documented, ...change })).not.toBe(webhookEventKey(documented));
  });

  it("cannot be confused with an event_id, nor between fields that concatenate alike", () => {
    expect(webhookEventKey({ ...documented, event_id: "" })).toBe(webhookEventKey(documented));
    const a = webhookEventKey({ webhook_type: "a.b", timestamp: 1, status: "c" });
    const b = webhookEventKey({ webhook_type: "a", timestamp: 1, status: "b.c" });
    expect(a).not.toBe(b);
  });
});
