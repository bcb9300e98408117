import { describe, expect, it } from "vitest";
import {
  CANCELLABLE_SHARE_STATES,
  canTransition,
  ERROR_CODES,
  errorBodySchema,
  IMPORT_STATES,
  IMPORT_TRANSITIONS,
  isOpenShareState,
  isTerminalImportState,
  isTerminalShareState,
  OPEN_IMPORT_STATES,
  OPEN_SHARE_STATES,
  PARTNER_A_AUDIT_ACTIONS,
  PARTNER_B_AUDIT_ACTIONS,
  SHARE_STATES,
  SHARE_TRANSITIONS,
  TERMINAL_IMPORT_STATES,
  TERMINAL_SHARE_STATES,
} from "../src/index.js";

describe("state machines", () => {
  it.each([
    ["share", SHARE_STATES, OPEN_SHARE_STATES, TERMINAL_SHARE_STATES, SHARE_TRANSITIONS],
    ["import", IMPORT_STATES, OPEN_IMPORT_STATES, TERMINAL_IMPORT_STATES, IMPORT_TRANSITIONS],
  ] as const)(
    "%s states split into open and terminal, and only open states move on",
    (_, all, open, terminal, transitions) => {
      expect([...open, ...terminal].sort()).toEqual([...all].sort());
      expect(open.filter((state) => (terminal as readonly string[]).includes(state))).toEqual([]);
      const machine = transitions as Record<string, readonly string[]>;
      for (const state of open) expect(machine[state]?.length, state).toBeGreaterThan(0);
      for (const [from, targets] of Object.entries(machine)) {
        expect(all as readonly string[]).toContain(from);
        for (const to of targets) expect(all as readonly string[], `${from} → ${to}`).toContain(to);
      }
    },
  );

  it("cancels only shares whose token has not left partner-a", () => {
    expect(
      CANCELLABLE_SHARE_STATES.every((state) => canTransition(SHARE_TRANSITIONS, state, "cancelled")),
    ).toBe(true);
    expect(canTransition(SHARE_TRANSITIONS, "sent", "cancelled")).toBe(false);
    expect(canTransition(SHARE_TRANSITIONS, "expired", "imported")).toBe(true);
  });

  it("answers open or terminal for every state, and neither for a word that is no state", () => {
    for (const state of SHARE_STATES) expect(isOpenShareState(state)).toBe(!isTerminalShareState(state));
    for (const state of IMPORT_STATES) {
      expect(isTerminalImportState(state)).toBe(!(OPEN_IMPORT_STATES as readonly string[]).includes(state));
    }
    expect(isTerminalShareState("imported")).toBe(true);
    expect(isOpenShareState("sent")).toBe(true);
    expect([isOpenShareState("lost"), isTerminalShareState("lost"), isTerminalImportState("lost")]).toEqual([
      false,
      false,
      false,
    ]);
  });
});

describe("codes and actions", () => {
  it("are unique plain words", () => {
    for (const list of [ERROR_CODES, PARTNER_A_AUDIT_ACTIONS, PARTNER_B_AUDIT_ACTIONS]) {
      expect(new Set(list).size).toBe(list.length);
      for (const item of list) expect(item).toMatch(/^[a-z_.]+$/);
    }
  });

  it("parses the error body every service answers with, and refuses another shape", () => {
    expect(errorBodySchema.safeParse({ error: { code: "not_found", message: "No route." } }).success).toBe(
      true,
    );
    expect(errorBodySchema.safeParse({ code: "not_found" }).success).toBe(false);
  });
});
