import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { channelJobId, resultJobId } from "../src/channel/job-ids.js";
import { REJECTION } from "../src/imports/share-importer.js";

// docs/asyncapi.yaml tells partners what partner-b sends; packages/channel's test checks the
// channel's part of it, this one the part partner-b decides: result job ids and refusal codes.
const ASYNCAPI_FILE = fileURLToPath(new URL("../../../docs/asyncapi.yaml", import.meta.url));
const schemas = async () => parse(await readFile(ASYNCAPI_FILE, "utf8")).components.schemas;

describe("docs/asyncapi.yaml on partner-b's import results", () => {
  it("matches the job ids partner-b gives results, plain and hashed, first and later", async () => {
    const { ResultJobId, JobId } = await schemas();
    const shareIds = [
      "0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
      "odd:share:7",
      "12345",
      "x".repeat(151),
      "a.b_c-d",
    ];
    for (const shareId of shareIds) {
      for (const seq of [0, 1, 2, 10]) {
        const jobId = resultJobId(shareId, seq);
        expect(jobId, `${shareId} #${seq}`).toMatch(new RegExp(ResultJobId.pattern));
        expect(jobId).not.toMatch(new RegExp(ResultJobId.not.pattern));
        expect(jobId).toMatch(new RegExp(JobId.pattern));
        expect(jobId.startsWith(channelJobId(shareId))).toBe(true);
      }
    }
    // A UUID share id is the first result's job id as it is, so partners can find it by share id.
    expect(resultJobId(shareIds[0] as string, 0)).toBe(shareIds[0]);
    expect(resultJobId(shareIds[0] as string, 2)).toBe(`${shareIds[0]}-2`);
  });

  it("lists every refusal code partner-b puts in a result's reason", async () => {
    const { description } = (await schemas()).ImportResultPayload.properties.reason;
    for (const code of Object.values(REJECTION)) {
      expect(description, code).toContain(`\`${code}\``);
    }
  });
});
