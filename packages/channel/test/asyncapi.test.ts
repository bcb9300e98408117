import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DiagnosticSeverity } from "@asyncapi/parser";
import { testRedisUrl, uniqueQueuePrefix } from "@share-broker/testing";
import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compactSegments, decodeHeader, MAX_ENVELOPE_LENGTH } from "../src/compact.js";
import { CONTENT_KEY_LABEL, contentKeyFor, contentKeyInfo } from "../src/content-keys.js";
import { decryptDirectJwe } from "../src/direct-jwe.js";
import {
  CHANNEL_JOB_OPTIONS,
  type ChannelProducer,
  CONTENT_ENCRYPTION_ALG,
  channelQueuePrefix,
  createChannelProducer,
  createDeadLetterQueue,
  createEnvelopeOpener,
  DEFAULT_CHANNEL_NAMESPACE,
  type DeadLetterQueue,
  DIRECT_KEY_MANAGEMENT_ALG,
  deadLetterQueueName,
  ENVELOPE_TYPES,
  type EnvelopeClaims,
  type EnvelopeType,
  generatePartnerKeys,
  importPartnerPrivateKeys,
  importResultPayloadSchema,
  loadPartnerRegistry,
  MAX_CLOCK_SKEW_SECONDS,
  type PartnerPrivateKeys,
  publicJwksOf,
  REJECTION_REASONS,
  rotatePartnerKeys,
  SIGNING_ALG,
  shareOfferPayloadSchema,
  shareRevokePayloadSchema,
} from "../src/index.js";
import { keyObjectOf, publicEncryptionJwkSchema, publicSigningJwkSchema } from "../src/jwk.js";
import { signCompactJws } from "../src/jws.js";
import { assertPartnerId, partnerIdSchema } from "../src/partner-id.js";
import { envelopeClaimsSchema, traceContextSchema } from "../src/payloads.js";
import {
  assertHashTaggedPrefix,
  assertJobId,
  assertQueueName,
  ENVELOPE_JOB_NAME,
  queueNameSchema,
} from "../src/queues.js";
import {
  ASYNCAPI_FILE,
  contractOf,
  type Json,
  jsonSchemaOf,
  type ParsedAsyncApi,
  parseAsyncApi,
  SchemaValidators,
} from "./asyncapi-document.js";
import { createPartnerWorld, type PartnerWorld, replaceCharAt, sealerFor, shareOffer } from "./support.js";

/**
 * Diagnostics below warning that the document keeps, each with why. Anything else the parser
 * reports (an error, a warning, a new notice) fails the test until fixed or listed here.
 */
const ACCEPTED_NOTICES: Record<string, string> = {
  "asyncapi-latest-version":
    "the document is AsyncAPI 3.0.0 on purpose: the most widely supported 3.x, and nothing of 3.1 is used",
};

const REPO_ROOT = join(dirname(ASYNCAPI_FILE), "..");

let parsed: ParsedAsyncApi;
let doc: Json;
let schemas: Record<string, Json>;
const validators = new SchemaValidators();

beforeAll(async () => {
  parsed = await parseAsyncApi();
  doc = parsed.doc;
  schemas = doc?.components?.schemas ?? {};
});

/** `value` against the document's schema `name`, or a schema it holds; the errors, if any. */
function errorsOf(schema: Json, value: unknown): string[] {
  expect(schema, "schema missing from docs/asyncapi.yaml").toBeTypeOf("object");
  return validators.errors(schema, value);
}

describe("docs/asyncapi.yaml is valid AsyncAPI", () => {
  it("parses with no error, no warning, and only the notices it accepts", () => {
    const bySeverity = (severity: DiagnosticSeverity) =>
      parsed.diagnostics.filter((diagnostic) => diagnostic.severity === severity);
    expect(bySeverity(DiagnosticSeverity.Error)).toEqual([]);
    expect(bySeverity(DiagnosticSeverity.Warning)).toEqual([]);
    const notices = parsed.diagnostics.map((diagnostic) => String(diagnostic.code));
    expect(notices.filter((code) => !(code in ACCEPTED_NOTICES))).toEqual([]);
    expect(doc.asyncapi).toBe("3.0.0");
  });

  it("gives examples that its own schemas accept", () => {
    const checked: string[] = [];
    for (const [name, message] of Object.entries<Json>(doc.components.messages)) {
      expect(message.examples?.length, `message ${name} has no example`).toBeGreaterThan(0);
      for (const example of message.examples) {
        expect(errorsOf(message.payload, example.payload), `${name} example payload`).toEqual([]);
        expect(errorsOf(message.headers, example.headers), `${name} example headers`).toEqual([]);
        checked.push(name);
      }
    }
    for (const [name, schema] of Object.entries<Json>(schemas)) {
      for (const example of schema.examples ?? []) {
        expect(errorsOf(schema, example), `example of schema ${name}`).toEqual([]);
        checked.push(name);
      }
    }
    expect(checked).toEqual(expect.arrayContaining(["shareOffer", "importResult", "deadLetter"]));
  });
});

describe("docs/asyncapi.yaml says what the code does", () => {
  it("describes the claims and both payloads exactly as the zod schemas the partners validate with", () => {
    expect(contractOf(schemas.ShareOfferPayload)).toEqual(jsonSchemaOf(shareOfferPayloadSchema));
    expect(contractOf(schemas.ImportResultPayload)).toEqual(jsonSchemaOf(importResultPayloadSchema));
    expect(contractOf(schemas.ShareRevokePayload)).toEqual(jsonSchemaOf(shareRevokePayloadSchema));
    expect(contractOf(schemas.TraceContext)).toEqual(jsonSchemaOf(traceContextSchema));

    // The code checks the claims in two steps (the claim set, then the payload `typ` names); the
    // document has one schema per `typ`, which must be the claim set with those two narrowed.
    const claimSet = jsonSchemaOf(envelopeClaimsSchema);
    const payloads: Record<EnvelopeType, Json> = {
      "share-offer": jsonSchemaOf(shareOfferPayloadSchema),
      "import-result": jsonSchemaOf(importResultPayloadSchema),
      "share-revoke": jsonSchemaOf(shareRevokePayloadSchema),
    };
    const claimsSchemas: Record<EnvelopeType, string> = {
      "share-offer": "ShareOfferClaims",
      "import-result": "ImportResultClaims",
      "share-revoke": "ShareRevokeClaims",
    };
    for (const typ of ENVELOPE_TYPES) {
      const documented = contractOf(schemas[claimsSchemas[typ]]);
      const { typ: documentedTyp, payload, ...registered } = documented.properties;
      expect(documentedTyp).toEqual({ type: "string", const: typ });
      expect(errorsOf(claimSet.properties.typ, typ)).toEqual([]);
      expect(payload).toEqual(payloads[typ]);
      const { typ: _typ, payload: _payload, ...codeRegistered } = claimSet.properties;
      expect(registered).toEqual(codeRegistered);
      expect({ ...documented, properties: undefined }).toEqual({ ...claimSet, properties: undefined });
    }
    expect(schemas.EnvelopeType.enum).toEqual([...ENVELOPE_TYPES]);
  });

  it("describes the published keys as the registry reads them", () => {
    expect(contractOf(schemas.PublicSigningJwk)).toEqual(jsonSchemaOf(publicSigningJwkSchema));
    expect(contractOf(schemas.PublicEncryptionJwk)).toEqual(jsonSchemaOf(publicEncryptionJwkSchema));
    expect(contractOf(schemas.Kid)).toEqual(jsonSchemaOf(publicSigningJwkSchema.shape.kid));
    expect(contractOf(schemas.PartnerId)).toEqual(jsonSchemaOf(partnerIdSchema));
    expect(contractOf(schemas.QueueName)).toEqual(jsonSchemaOf(queueNameSchema));
  });

  it("accepts the JWKS a partner publishes, before and after a rotation, and refuses private keys", async () => {
    const first = { partner_id: "partner-a", current: await generatePartnerKeys("partner-a") };
    const rotated = rotatePartnerKeys(first, await generatePartnerKeys("partner-a"));
    for (const file of [first, rotated]) {
      expect(errorsOf(schemas.PublicJwks, publicJwksOf(file))).toEqual([]);
    }
    const [signing, encryption] = publicJwksOf(first).keys;
    expect(
      errorsOf(schemas.PublicJwks, { keys: [{ ...signing, d: first.current.signing.d }, encryption] }),
    ).not.toEqual([]);
    expect(errorsOf(schemas.PublicJwks, { keys: [signing] })).not.toEqual([]);
    expect(errorsOf(schemas.PublicJwks, { keys: [encryption] })).not.toEqual([]);
  });

  it.each(["infra/dev/partners.json", "infra/compose/partners.json"])(
    "describes the registry entries of %s",
    async (file) => {
      const registry = JSON.parse(await readFile(join(REPO_ROOT, file), "utf8"));
      for (const entry of registry.partners) {
        expect(errorsOf(schemas.PartnerRegistryEntry, entry), entry.partner_id).toEqual([]);
      }
    },
  );

  it("names the algorithms, the content-key label, the size limit and the refusals of the code", () => {
    const jwe = schemas.JweProtectedHeader.properties;
    expect([jwe.alg.const, jwe.enc.const, jwe.cty.const]).toEqual([
      DIRECT_KEY_MANAGEMENT_ALG,
      CONTENT_ENCRYPTION_ALG,
      "JWT",
    ]);
    expect(schemas.JwsProtectedHeader.properties.alg.const).toBe(SIGNING_ALG);
    expect(schemas.ContentKeyInfo.items[0].const).toBe(CONTENT_KEY_LABEL);
    expect(schemas.ContentKeyInfo.items[1].const).toBe(CONTENT_ENCRYPTION_ALG);
    expect(doc.info.description).toContain(`\`${CONTENT_KEY_LABEL}\``);
    expect(schemas.CompactEnvelope.maxLength).toBe(MAX_ENVELOPE_LENGTH);
    expect(schemas.EnvelopeRejectionReason.oneOf.map((reason: Json) => reason.const)).toEqual([
      ...REJECTION_REASONS,
    ]);
    expect(schemas.EnvelopeRejectionReason.description).toContain(`\`exp\` + ${MAX_CLOCK_SKEW_SECONDS} s`);
  });

  it("derives queue addresses, the prefix, job names and job options as the code does", () => {
    expect(doc.components.parameters.prefix.default).toBe(channelQueuePrefix());
    expect(schemas.QueuePrefix.default).toBe(`{${DEFAULT_CHANNEL_NAMESPACE}}`);
    expect(doc.channels.inbox.address).toBe("{prefix}:{inboxQueue}");
    expect(doc.channels.results.address).toBe("{prefix}:{resultsQueue}");
    expect(doc.channels.deadLetters.address).toBe(`{prefix}:${deadLetterQueueName("{sourceQueue}")}`);
    for (const attributes of ["OfferJobAttributes", "ResultJobAttributes", "DeadLetterJobAttributes"]) {
      expect(schemas[attributes].properties.name.const, attributes).toBe(ENVELOPE_JOB_NAME);
    }
    expect(schemas.ChannelJobOptions.default).toEqual(CHANNEL_JOB_OPTIONS);
    expect(doc.components.messages.shareOffer.examples[0].headers.opts).toEqual(CHANNEL_JOB_OPTIONS);
  });

  // The code states these rules as checks that throw; the document as patterns. Both must agree on
  // every string, including the awkward ones (empty, too long, ":", braces, all digits).
  const unit = fc.constantFrom(..."aZ09._-:{}/ ".split(""), ..."0123456789".split(""));
  const strings = (maxLength: number) =>
    fc.oneof(
      fc.string({ unit, maxLength }),
      fc.integer({ min: 0, max: 10 ** 9 }).map(String),
      fc.constantFrom("x".repeat(maxLength), "x".repeat(maxLength + 1), "{share-broker}", "a-", "-a"),
    );
  const accepts = (check: (value: string) => void) => (value: string) => {
    try {
      check(value);
      return true;
    } catch {
      return false;
    }
  };
  it.each([
    ["JobId", assertJobId, 200],
    ["QueueName", assertQueueName, 100],
    ["QueuePrefix", assertHashTaggedPrefix, 102],
    ["PartnerId", assertPartnerId, 64],
  ] as const)("accepts exactly the %s values the code accepts", (name, check, maxLength) => {
    fc.assert(
      fc.property(strings(maxLength), (value) => {
        expect(errorsOf(schemas[name], value).length === 0, JSON.stringify(value)).toBe(
          accepts(check)(value),
        );
      }),
      { numRuns: 500 },
    );
  });
});

describe("real envelopes, sealed and queued by the channel package, fit docs/asyncapi.yaml", () => {
  let world: PartnerWorld;
  let redis: Redis;
  const prefix = channelQueuePrefix(uniqueQueuePrefix("asyncapi"));
  const closers: Array<{ close(): Promise<void> }> = [];
  const silent = { warn: () => {}, error: () => {} };

  beforeAll(async () => {
    world = await createPartnerWorld(["partner-a", "partner-b"]);
    redis = new Redis(testRedisUrl(), {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      lazyConnect: true,
    });
    await redis.connect();
  });

  afterAll(async () => {
    for (const closer of closers) await closer.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    await world.cleanup();
  });

  function producer(queueName: string): ChannelProducer {
    const created = createChannelProducer({ connection: redis, queueName, prefix, logger: silent });
    closers.push(created);
    return created;
  }

  /** The job as a partner in another language finds it in Redis: the job hash, and BullMQ's view. */
  async function storedJob(queue: ChannelProducer["queue"] | DeadLetterQueue["queue"], jobId: string) {
    const hash = await redis.hgetall(queue.toKey(jobId));
    const job = await queue.getJob(jobId);
    expect(job, `job ${jobId} in ${queue.name}`).toBeDefined();
    return {
      hash,
      data: JSON.parse(hash.data as string) as unknown,
      attributes: { name: hash.name, jobId: job?.id, opts: job?.opts },
    };
  }

  /** The sealed layers of an envelope: JWE header, JWS header, and the claims exactly as signed. */
  function layersOf(envelope: string, from: string, to: string) {
    const segments = compactSegments(envelope, 5) as string[];
    const jweHeader = decodeHeader(segments[0] as string) as Record<string, string>;
    const [sender, receiver] = [world.keys[from], world.keys[to]] as PartnerPrivateKeys[];
    const contentKey = contentKeyFor(
      {
        ownKey: receiver?.decryption[0] as never,
        peerKey: sender?.decryption[0] as never,
        sender: { partnerId: from, kid: jweHeader.skid as string },
        receiver: { partnerId: to, kid: jweHeader.kid as string },
      },
      { cached: false },
    );
    const jws = (decryptDirectJwe(segments, contentKey) as Buffer).toString("utf8");
    const [jwsHeader, claims] = jws.split(".").slice(0, 2) as [string, string];
    return {
      jweHeader,
      jwsHeader: decodeHeader(jwsHeader),
      claims: JSON.parse(Buffer.from(claims, "base64url").toString("utf8")) as unknown,
      contentKeyInfo: JSON.parse(
        contentKeyInfo(
          { partnerId: from, kid: jweHeader.skid as string },
          { partnerId: to, kid: jweHeader.kid as string },
        ).toString("utf8"),
      ) as unknown,
    };
  }

  function expectMessage(messageName: string, stored: Awaited<ReturnType<typeof storedJob>>) {
    const message = doc.components.messages[messageName];
    expect(errorsOf(message.payload, stored.data), `${messageName} job data`).toEqual([]);
    expect(errorsOf(message.headers, stored.attributes), `${messageName} job attributes`).toEqual([]);
  }

  function expectLayers(layers: ReturnType<typeof layersOf>, claimsSchema: string) {
    expect(errorsOf(schemas.JweProtectedHeader, layers.jweHeader)).toEqual([]);
    expect(errorsOf(schemas.JwsProtectedHeader, layers.jwsHeader)).toEqual([]);
    expect(errorsOf(schemas.ContentKeyInfo, layers.contentKeyInfo)).toEqual([]);
    expect(errorsOf(schemas[claimsSchema], layers.claims)).toEqual([]);
  }

  it("a share offer: job data, job attributes, headers and claims", async () => {
    const shareId = randomUUID();
    const payload = shareOffer({
      trace: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
    });
    const envelope = await sealerFor(world, "partner-a").seal({
      to: "partner-b",
      typ: "share-offer",
      jti: shareId,
      expiresAt: new Date(payload.token_expires_at),
      payload,
    });
    const inbox = producer(world.registry.get("partner-b").inboxQueue);
    expect(await inbox.send(shareId, envelope)).toEqual({ added: true });

    const stored = await storedJob(inbox.queue, shareId);
    expect(inbox.queue.toKey(shareId)).toBe(`${prefix}:inbox-partner-b:${shareId}`);
    expectMessage("shareOffer", stored);
    const layers = layersOf(envelope, "partner-a", "partner-b");
    expectLayers(layers, "ShareOfferClaims");

    const opened = await createEnvelopeOpener({
      self: "partner-b",
      keys: world.keys["partner-b"] as PartnerPrivateKeys,
      registry: world.registry,
    }).open(envelope, "share-offer");
    expect(opened.ok && opened.claims).toEqual(layers.claims);
  });

  it("an import result, whose job id numbers later results of the same share", async () => {
    const shareId = randomUUID();
    const jobId = `${shareId}-1`;
    const envelope = await sealerFor(world, "partner-b").seal({
      to: "partner-a",
      typ: "import-result",
      jti: jobId,
      expiresAt: new Date(Date.now() + 7 * 86_400_000),
      payload: {
        share_id: shareId,
        outcome: "rejected",
        sequence: 2,
        import_id: randomUUID(),
        reason: "token_expired",
        at: new Date().toISOString(),
      },
    });
    const results = producer(world.registry.get("partner-a").resultsQueue);
    expect(await results.send(jobId, envelope)).toEqual({ added: true });

    expectMessage("importResult", await storedJob(results.queue, jobId));
    const layers = layersOf(envelope, "partner-b", "partner-a");
    expectLayers(layers, "ImportResultClaims");
    expect(layers.claims).toMatchObject({ jti: jobId, payload: { share_id: shareId } });
  });

  it("a refused envelope in the receiver's dead-letter queue", async () => {
    const shareId = randomUUID();
    const payload = shareOffer();
    const sealed = await sealerFor(world, "partner-a").seal({
      to: "partner-b",
      typ: "share-offer",
      jti: shareId,
      expiresAt: new Date(payload.token_expires_at),
      payload,
    });
    const tampered = replaceCharAt(sealed, sealed.length - 5, sealed.at(-5) === "A" ? "B" : "A");
    const opened = await createEnvelopeOpener({
      self: "partner-b",
      keys: world.keys["partner-b"] as PartnerPrivateKeys,
      registry: world.registry,
    }).open(tampered, "share-offer");
    expect(opened.ok).toBe(false);
    if (opened.ok) return;

    const inboxQueue = world.registry.get("partner-b").inboxQueue;
    const deadLetters = createDeadLetterQueue({
      connection: redis,
      queueName: inboxQueue,
      prefix,
      logger: silent,
    });
    closers.push(deadLetters);
    await deadLetters.sendToDeadLetter(shareId, tampered, opened.reason);
    expect(deadLetters.queue.name).toBe(deadLetterQueueName(inboxQueue));
    expectMessage("deadLetter", await storedJob(deadLetters.queue, shareId));
  });
});

describe("the test vectors of docs/asyncapi.yaml", () => {
  let dir: string;
  let vectors: Json;
  const keys: Record<string, PartnerPrivateKeys> = {};

  beforeAll(async () => {
    vectors = doc["x-test-vectors"];
    dir = await mkdtemp(join(tmpdir(), "asyncapi-vectors-"));
    const partners = Object.entries<Json>(vectors.partners).map(([partnerId, { signing, encryption }]) => {
      const { d: _signing, ...publicSigning } = signing;
      const { d: _encryption, ...publicEncryption } = encryption;
      return {
        partner_id: partnerId,
        name: partnerId,
        didit_application_id: randomUUID(),
        inbox_queue: `inbox-${partnerId}`,
        results_queue: `results-${partnerId}`,
        public_jwks: { keys: [publicSigning, publicEncryption] },
      };
    });
    await writeFile(join(dir, "partners.json"), JSON.stringify({ partners }));
    for (const [partnerId, current] of Object.entries<Json>(vectors.partners)) {
      keys[partnerId] = await importPartnerPrivateKeys({
        partner_id: partnerId,
        current: { created_at: "2026-01-15T10:00:00.000Z", ...current },
      });
    }
  });

  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function openerOf(partnerId: string) {
    return createEnvelopeOpener({
      self: partnerId,
      keys: keys[partnerId] as PartnerPrivateKeys,
      registry: await loadPartnerRegistry(join(dir, "partners.json")),
      now: () => new Date(vectors.now),
    });
  }

  it.each([
    ["shareOffer", "partner-a", "partner-b", "share-offer", "ShareOfferClaims"],
    ["importResult", "partner-b", "partner-a", "import-result", "ImportResultClaims"],
    ["shareRevoke", "partner-a", "partner-b", "share-revoke", "ShareRevokeClaims"],
  ] as const)(
    "the %s example opens to its documented claims, signed and derived as documented",
    async (message, from, to, typ, claimsSchema) => {
      const envelope: string = doc.components.messages[message].examples[0].payload.envelope;
      const claims: EnvelopeClaims = schemas[claimsSchema].examples[0];
      const opened = await (await openerOf(to)).open(envelope, typ);
      expect(opened).toEqual({ ok: true, claims });

      const [sender, receiver] = [keys[from], keys[to]] as PartnerPrivateKeys[];
      const contentKey = contentKeyFor(
        {
          ownKey: sender?.decryption[0] as never,
          peerKey: receiver?.decryption[0] as never,
          sender: { partnerId: from, kid: sender?.decryption[0]?.kid as string },
          receiver: { partnerId: to, kid: receiver?.decryption[0]?.kid as string },
        },
        { cached: false },
      );
      expect(contentKey.export().toString("hex")).toBe(vectors.contentKeys[`${from} to ${to}`]);
      const jws = decryptDirectJwe(compactSegments(envelope, 5) as string[], contentKey)?.toString("utf8");
      expect(jws).toBe(vectors.jws[message]);
      // Ed25519 is deterministic: the documented claims, serialized in the documented member order,
      // give the very same signature.
      const header = { alg: SIGNING_ALG, kid: sender?.signing.kid as string, typ: "JWT" };
      expect(signCompactJws(JSON.stringify(claims), header, keyObjectOf(sender?.signing.key as never))).toBe(
        jws,
      );
    },
  );
});
