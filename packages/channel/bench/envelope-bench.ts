/**
 * Envelope cost on the hot path (docs/PROTOCOL.md#envelope): seals and opens N share offers between two
 * partners with keys imported once, and prints the time per operation: first for envelopes as sealed now
 * (`dir`, content key derived once per peer pair), then for the first format (`ECDH-ES+A256KW`, an ephemeral
 * key per message), which receivers still open.
 *   pnpm --filter @share-broker/channel bench [N]
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import {
  createEnvelopeOpener,
  createEnvelopeSealer,
  type EnvelopeKeyManagement,
  ensureDevelopmentKeys,
  loadPartnerRegistry,
  type SealInput,
} from "../src/index.js";

const count = Number(process.argv[2] ?? 2_000);
const warmup = 200;

const dir = await mkdtemp(join(tmpdir(), "envelope-bench-"));
try {
  const partners = ["partner-a", "partner-b"];
  const sender = await ensureDevelopmentKeys(join(dir, "partner-a"), "partner-a");
  const receiver = await ensureDevelopmentKeys(join(dir, "partner-b"), "partner-b");
  const registryFile = join(dir, "partners.json");
  await writeFile(
    registryFile,
    JSON.stringify({
      partners: partners.map((id, index) => ({
        partner_id: id,
        name: id,
        didit_application_id: `6f1c2a0e-4b7d-4c1e-9a55-0a1b2c3d4e0${index + 1}`,
        inbox_queue: `inbox-${id}`,
        results_queue: `results-${id}`,
        public_keys_file: `${id}/public.jwks.json`,
      })),
    }),
  );
  const registry = await loadPartnerRegistry(registryFile, { baseDir: dir });
  const opener = createEnvelopeOpener({ self: "partner-b", keys: receiver.keys, registry });
  const input = (jti: string): SealInput => ({
    to: "partner-b",
    typ: "share-offer",
    jti,
    expiresAt: new Date(Date.now() + 600_000),
    payload: {
      share_token: `eyJhbGciOiJFUzI1NiJ9.${"x".repeat(600)}.${"s".repeat(86)}`,
      session_kind: "first",
      purpose: "account opening",
      scope: "identity",
      consent_id: "1f4e0d1c-6a5b-4c3d-8e9f-0a1b2c3d4e5f",
      link_code: "q3Zr8Kx1vN0bT6yW2mLcH9sD4fGjP7aE5uQiV0oXk1M",
      user_pseudonym: "psn_8c1d2e3f",
      token_expires_at: new Date(Date.now() + 900_000).toISOString(),
    },
  });

  const modes: Array<[EnvelopeKeyManagement, string]> = [
    ["dir", "dir + A256GCM JWE, content key = HKDF(static X25519) cached per peer pair"],
    ["ECDH-ES+A256KW", "ECDH-ES+A256KW/X25519 + A256GCM JWE (first format)"],
  ];
  for (const [keyManagement, description] of modes) {
    const sealer = createEnvelopeSealer({ self: "partner-a", keys: sender.keys, registry, keyManagement });
    for (let i = 0; i < warmup; i++) await opener.open(await sealer.seal(input(`warmup-${i}`)));

    const envelopes: string[] = [];
    const sealStart = performance.now();
    for (let i = 0; i < count; i++) envelopes.push(await sealer.seal(input(`share-${i}`)));
    const sealMs = (performance.now() - sealStart) / count;

    const openStart = performance.now();
    for (const envelope of envelopes) {
      const opened = await opener.open(envelope, "share-offer");
      if (!opened.ok) throw new Error(`bench envelope rejected: ${opened.reason}`);
    }
    const openMs = (performance.now() - openStart) / count;

    console.log(
      `${count} envelopes (EdDSA JWS inside ${description}, ~${envelopes[0]?.length} bytes), ` +
        `node ${process.version}: seal ${sealMs.toFixed(3)} ms, open ${openMs.toFixed(3)} ms, ` +
        `round trip ${(sealMs + openMs).toFixed(3)} ms`,
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
