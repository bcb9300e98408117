import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  generatePartnerKeys,
  importPartnerPrivateKeys,
  type PartnerKeyFile,
  type PartnerPrivateKeys,
  writePartnerKeyFiles,
} from "@share-broker/channel";
import { partnerRegistryEntry, sandboxApplication } from "@share-broker/testing";

/** Didit applications of the test sandbox; credentials distinct from infra/dev and other tests. */
export const APP_A = {
  id: "1a000000-0000-4000-8000-00000000000a",
  apiKey: "test-pb-didit-key-app-a-3c1f0e",
  webhookSecret: "test-pb-webhook-secret-app-a-92b7",
  kyc: "1a000000-0000-4000-8000-0000000000a1",
} as const;
export const APP_B = {
  id: "1b000000-0000-4000-8000-00000000000b",
  apiKey: "test-pb-didit-key-app-b-8e2d4a",
  webhookSecret: "test-pb-webhook-secret-app-b-51aa",
  kyc: "1b000000-0000-4000-8000-0000000000b1",
  kyb: "1b000000-0000-4000-8000-0000000000b3",
} as const;
export const APP_C = {
  id: "1c000000-0000-4000-8000-00000000000c",
  apiKey: "test-pb-didit-key-app-c-0f6b19",
  webhookSecret: "test-pb-webhook-secret-app-c-7d3e",
  kyc: "1c000000-0000-4000-8000-0000000000c1",
} as const;

export const B_API_KEY = "test-partner-b-api-key-7d41a9";
export const SANDBOX_CONTROL_KEY = "test-pb-sandbox-control-key-6a0c";

/** Every secret that must never reach a log line or a table. */
export const SECRETS = [
  B_API_KEY,
  SANDBOX_CONTROL_KEY,
  ...[APP_A, APP_B, APP_C].flatMap((app) => [app.apiKey, app.webhookSecret]),
];

export const POLICY_VERSION = "test-policy-7";

/**
 * Everything a test run writes to disk, in one temporary folder: the sandbox applications file,
 * envelope keys for partner-a (played by the test), partner-b, and keys nobody registered, the
 * registries each side reads, and partner-b's policy file.
 */
export interface TestWorld {
  dir: string;
  applicationsFile: string;
  policiesFile: string;
  /** partner-b's registry: partner-a and partner-b. */
  partnersFile: string;
  /** partner-b's KEYS_DIR. */
  bKeysDir: string;
  keys: { a: PartnerPrivateKeys; rogueA: PartnerPrivateKeys };
  /** A registry in which "partner-c" publishes partner-b's keys: sealing to it encrypts for B but addresses C. */
  misaddressFile: string;
  /** Removes the folder, private keys included. */
  cleanup(): void;
}

async function keysFor(dir: string, partnerId: string): Promise<PartnerPrivateKeys> {
  const file: PartnerKeyFile = { partner_id: partnerId, current: await generatePartnerKeys(partnerId) };
  await writePartnerKeyFiles(dir, file);
  return importPartnerPrivateKeys(file);
}

export async function createTestWorld(bWebhookUrl: string): Promise<TestWorld> {
  const dir = mkdtempSync(join(tmpdir(), "partner-b-test-"));
  const keysDir = (name: string) => join(dir, "keys", name);
  const a = await keysFor(keysDir("partner-a"), "partner-a");
  const rogueA = await keysFor(keysDir("rogue-partner-a"), "partner-a");
  // partner-b's keys exist before it starts, so the test can seal to it; B finds and keeps them.
  await keysFor(keysDir("partner-b"), "partner-b");
  const publicOf = (name: string) => join(keysDir(name), "public.jwks.json");

  const partnersFile = join(dir, "partners.json");
  writeFileSync(
    partnersFile,
    JSON.stringify({
      partners: [
        partnerRegistryEntry("partner-a", APP_A.id, publicOf("partner-a")),
        partnerRegistryEntry("partner-b", APP_B.id, publicOf("partner-b")),
      ],
    }),
  );
  const misaddressFile = join(dir, "misaddress.json");
  writeFileSync(
    misaddressFile,
    JSON.stringify({
      partners: [
        partnerRegistryEntry("partner-a", APP_A.id, publicOf("partner-a")),
        partnerRegistryEntry("partner-c", APP_C.id, publicOf("partner-b")),
      ],
    }),
  );

  const applicationsFile = join(dir, "applications.json");
  writeFileSync(
    applicationsFile,
    JSON.stringify({
      applications: [
        sandboxApplication(APP_A, "Test Partner A", null, [
          { workflow_id: APP_A.kyc, name: "first_verification", kind: "kyc" },
        ]),
        sandboxApplication(APP_B, "Test Partner B", bWebhookUrl, [
          { workflow_id: APP_B.kyc, name: "first_verification", kind: "kyc" },
          { workflow_id: APP_B.kyb, name: "kyb", kind: "kyb" },
        ]),
        sandboxApplication(APP_C, "Test Partner C", null, [
          { workflow_id: APP_C.kyc, name: "first_verification", kind: "kyc" },
        ]),
      ],
    }),
  );

  const policiesFile = join(dir, "policies.json");
  writeFileSync(
    policiesFile,
    JSON.stringify({
      version: POLICY_VERSION,
      default: { workflow_id: APP_B.kyc, trust_review: false },
      rules: [
        { source: "partner-a", scope: "kyc", workflow_id: APP_B.kyc, trust_review: true },
        { source: "partner-a", scope: "kyc+aml", workflow_id: APP_B.kyc, trust_review: false },
      ],
    }),
  );
  return {
    dir,
    applicationsFile,
    policiesFile,
    partnersFile,
    bKeysDir: keysDir("partner-b"),
    keys: { a, rogueA },
    misaddressFile,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
