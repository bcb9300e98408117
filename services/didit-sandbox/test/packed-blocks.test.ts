import { expect, it } from "vitest";
import { generateResults } from "../src/kyc-data.js";
import { PackedBlocks } from "../src/packed-blocks.js";
import { FEATURE_BLOCKS } from "../src/store.js";

const results = () =>
  generateResults({
    sessionId: "7c0f2a64-8a56-4a51-9b0e-3f1f7b0c2d11",
    kind: "kyc",
    expectedDetails: null,
    now: new Date("2026-12-01T00:00:00Z"),
  });

it("gives back the blocks it was given, as fresh objects each time", () => {
  const blocks = results();
  const packed = PackedBlocks.of(blocks);
  const first = packed.unpack();
  expect(first).toEqual(blocks);
  const document = first.id_verifications?.[0];
  expect(document).toBeDefined();
  if (document) document.status = "Declined";
  first.aml_screenings = null;
  expect(packed.unpack()).toEqual(blocks);
  expect(packed.unpack()).not.toBe(packed.unpack());
});

it("does not see later changes to the blocks it packed", () => {
  const blocks = results();
  const packed = PackedBlocks.of(blocks);
  blocks.face_matches = null;
  expect(packed.unpack().face_matches).not.toBeNull();
});

it("starts a session with every block null", () => {
  const none = PackedBlocks.none.unpack();
  expect(Object.keys(none).sort()).toEqual([...FEATURE_BLOCKS].sort());
  expect(Object.values(none).every((block) => block === null)).toBe(true);
});
