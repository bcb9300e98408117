import { describe, expect, it } from "vitest";
import { applicationsFor, parsePorts, partnersFor } from "../../scripts/stack/config.js";
import { ServiceLogRenderer } from "../../scripts/stack/logs.js";

const partners = {
  partners: [
    {
      partner_id: "partner-a",
      didit_application_id: "app-a",
      public_keys_file: ".keys/partner-a/public.jwks.json",
    },
    {
      partner_id: "partner-b",
      didit_application_id: "app-b",
      public_keys_file: ".keys/partner-b/public.jwks.json",
    },
  ],
};
const applications = {
  applications: [
    { application_id: "app-a", webhook_url: "http://127.0.0.1:3001/v1/webhooks/didit", name: "A" },
    { application_id: "app-b", webhook_url: "http://127.0.0.1:3002/v1/webhooks/didit", name: "B" },
    { application_id: "app-c", webhook_url: "http://127.0.0.1:3009/v1/webhooks/didit", name: "C" },
  ],
};

describe("the stack's configuration", () => {
  it("reads STACK_PORTS as partner-a, partner-b, sandbox, console, and refuses anything else", () => {
    expect(parsePorts(undefined)).toEqual({
      "partner-a": 3001,
      "partner-b": 3002,
      "didit-sandbox": 3003,
      console: 3000,
    });
    expect(parsePorts("4001, 4002,4003,4000")).toEqual({
      "partner-a": 4001,
      "partner-b": 4002,
      "didit-sandbox": 4003,
      console: 4000,
    });
    expect(() => parsePorts("4001,4002,4003")).toThrow(/four ports/);
    expect(() => parsePorts("4001,4001,4003,4000")).toThrow(/twice/);
    expect(() => parsePorts("4001,x,4003,4000")).toThrow(/four ports/);
  });

  it("points the sandbox's webhooks at the partners' ports, and leaves the file alone when they match", () => {
    const same = applicationsFor(applications, partners, {
      "partner-a": "http://127.0.0.1:3001/v1/webhooks/didit",
      "partner-b": "http://127.0.0.1:3002/v1/webhooks/didit",
    });
    expect(same).toBeUndefined();
    const moved = applicationsFor(applications, partners, {
      "partner-a": "http://127.0.0.1:4001/v1/webhooks/didit",
      "partner-b": "http://127.0.0.1:4002/v1/webhooks/didit",
    });
    expect(moved?.applications.map((application) => application.webhook_url)).toEqual([
      "http://127.0.0.1:4001/v1/webhooks/didit",
      "http://127.0.0.1:4002/v1/webhooks/didit",
      "http://127.0.0.1:3009/v1/webhooks/didit",
    ]);
    expect(moved?.applications[0]).toMatchObject({ name: "A", application_id: "app-a" });
  });

  it("moves the partners' public key files with STACK_KEYS_DIR", () => {
    expect(partnersFor(partners, "/repo/", "/repo/.keys")).toBeUndefined();
    expect(
      partnersFor(partners, "/repo/", "/tmp/keys")?.partners.map((entry) => entry.public_keys_file),
    ).toEqual(["/tmp/keys/partner-a/public.jwks.json", "/tmp/keys/partner-b/public.jwks.json"]);
  });
});

describe("the stack's log lines", () => {
  const renderer = () => new ServiceLogRenderer({ colour: false, rawLogs: false, verbose: false });
  const json = (entry: object) =>
    JSON.stringify({
      level: "info",
      time: "2030-01-01T12:34:56.789Z",
      service: "partner-a",
      pid: 1,
      ...entry,
    });

  it("shortens a JSON line to time, level, message and fields", () => {
    const line = renderer().render(json({ msg: "share accepted", share_id: "s-1", replayed: false }));
    expect(line).toBe("12:34:56.789 info  share accepted share_id=s-1 replayed=false");
  });

  it("folds a request's two lines into one and leaves successful reads out", () => {
    const logs = renderer();
    const incoming = (id: string, method: string, url: string) =>
      json({ msg: "incoming request", request_id: id, req: { method, url } });
    const completed = (id: string, statusCode: number) =>
      json({ msg: "request completed", request_id: id, res: { statusCode }, responseTime: 3.25 });
    expect(logs.render(incoming("r1", "POST", "/v1/shares"))).toBeUndefined();
    expect(logs.render(completed("r1", 202))).toBe("12:34:56.789 info  POST /v1/shares → 202 3.3 ms");
    expect(logs.render(incoming("r2", "GET", "/v1/shares"))).toBeUndefined();
    expect(logs.render(completed("r2", 200))).toBeUndefined();
    expect(logs.render(incoming("r3", "GET", "/v1/shares/x"))).toBeUndefined();
    expect(logs.render(completed("r3", 404))).toBe("12:34:56.789 info  GET /v1/shares/x → 404 3.3 ms");
  });

  it("prints an error's type and message, and other lines as they are", () => {
    const line = renderer().render(
      json({
        level: "error",
        msg: "dispatch failed",
        err: { type: "DiditError", message: "503 from Didit" },
      }),
    );
    expect(line).toBe('12:34:56.789 error dispatch failed err="DiditError: 503 from Didit"');
    expect(renderer().render("partner-a: database migrated (partner_a)")).toBe(
      "partner-a: database migrated (partner_a)",
    );
  });
});
