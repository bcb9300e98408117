import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";
import type { KeyHandle } from "./jwk.js";
import { partnerIdSchema } from "./partner-id.js";
import {
  formatIssues,
  importPartnerPublicKeys,
  type PartnerPublicKeys,
  publicJwksSchema,
} from "./public-keys.js";
import { queueNameSchema } from "./queues.js";

/** A partner as the registry describes it. */
export interface Partner {
  partnerId: string;
  name: string;
  diditApplicationId: string;
  /** Where share offers to this partner go. */
  inboxQueue: string;
  /** Where import results for this partner go. */
  resultsQueue: string;
}

export class RegistryError extends Error {
  override name = "RegistryError";
}

export class UnknownPartnerError extends RegistryError {
  override name = "UnknownPartnerError";
  constructor(
    readonly partnerId: string,
    known: readonly string[],
  ) {
    super(`unknown partner "${partnerId}": the registry lists ${known.join(", ") || "no partners"}`);
  }
}

/** The partner is configured but its public keys cannot be read (yet): it may not have started once. */
export class PartnerKeysUnavailableError extends RegistryError {
  override name = "PartnerKeysUnavailableError";
}

const partnerEntrySchema = z
  .object({
    partner_id: partnerIdSchema,
    name: z.string().min(1),
    didit_application_id: z.uuid(),
    inbox_queue: queueNameSchema,
    results_queue: queueNameSchema,
    public_keys_file: z.string().min(1).optional(),
    public_jwks: publicJwksSchema.optional(),
  })
  .refine(
    (entry) => (entry.public_keys_file === undefined) !== (entry.public_jwks === undefined),
    "needs exactly one of public_keys_file or public_jwks",
  );

function duplicates(values: readonly string[]): string[] {
  return [...new Set(values.filter((value, index) => values.indexOf(value) !== index))];
}

const registryFileSchema = z
  .object({ partners: z.array(partnerEntrySchema).min(1) })
  .superRefine((file, ctx) => {
    const ids = duplicates(file.partners.map((entry) => entry.partner_id));
    if (ids.length > 0)
      ctx.addIssue({ code: "custom", path: ["partners"], message: `duplicate partner_id ${ids}` });
    const queues = duplicates(file.partners.flatMap((entry) => [entry.inbox_queue, entry.results_queue]));
    if (queues.length > 0)
      ctx.addIssue({ code: "custom", path: ["partners"], message: `queue used twice: ${queues}` });
  });

type PartnerEntry = z.infer<typeof partnerEntrySchema>;

export interface PartnerRegistry {
  /** The registry file, for messages. */
  readonly file: string;
  partners(): readonly Partner[];
  find(partnerId: string): Partner | undefined;
  /** Throws UnknownPartnerError naming the partners that do exist. */
  get(partnerId: string): Partner;
  /** The partner's current encryption key, to seal envelopes to it. */
  encryptionKeyOf(partnerId: string): Promise<KeyHandle>;
  /**
   * One of the encryption keys a partner published (current or previous), by kid: the key an
   * envelope from it names as the one its content key was derived from. An unknown kid makes the
   * registry look at that partner's key file again (it may have rotated); still unknown, undefined.
   */
  senderEncryptionKey(partnerId: string, kid: string): Promise<KeyHandle | undefined>;
  /**
   * Who owns a signing key id. An unknown kid makes the registry look again at key files that
   * changed or appeared since (a partner that started for the first time, or rotated).
   */
  signerOf(kid: string): Promise<{ partnerId: string; key: KeyHandle } | undefined>;
}

export interface LoadRegistryOptions {
  /**
   * Folder that relative `public_keys_file` paths start from. Default: the repository root above the
   * registry file (the dev registry lives in infra/dev/ and names `.keys/...`), else its own folder.
   */
  baseDir?: string;
  /** How long a partner's encryption key is used before its key file is checked for a rotation. */
  keysRefreshMs?: number;
}

function defaultBaseDir(file: string): string {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "pnpm-workspace.yaml"))) return dir;
    if (dirname(dir) === dir) return dirname(file);
  }
}

function toPartner(entry: PartnerEntry): Partner {
  return {
    partnerId: entry.partner_id,
    name: entry.name,
    diditApplicationId: entry.didit_application_id,
    inboxQueue: entry.inbox_queue,
    resultsQueue: entry.results_queue,
  };
}

/** Reads and validates the registry; public keys already on disk are loaded now, others on first use. */
export async function loadPartnerRegistry(
  file: string,
  options: LoadRegistryOptions = {},
): Promise<PartnerRegistry> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new RegistryError(`cannot read partner registry ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new RegistryError(`partner registry ${path} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = registryFileSchema.safeParse(json);
  if (!parsed.success) throw new RegistryError(`partner registry ${path}: ${formatIssues(parsed.error)}`);
  const registry = new FilePartnerRegistry(
    path,
    parsed.data.partners,
    options.baseDir ?? defaultBaseDir(path),
    options.keysRefreshMs ?? 5_000,
  );
  await registry.loadAvailableKeys();
  return registry;
}

interface LoadedKeys {
  keys: PartnerPublicKeys;
  /** Identity of the key file content last read; undefined for inline keys. */
  stamp?: string;
  checkedAt: number;
}

class FilePartnerRegistry implements PartnerRegistry {
  private readonly byId: Map<string, { partner: Partner; entry: PartnerEntry }>;
  private readonly loaded = new Map<string, LoadedKeys>();
  private readonly signers = new Map<string, { partnerId: string; key: KeyHandle }>();
  private readonly refreshing = new Map<string, Promise<void>>();

  constructor(
    readonly file: string,
    entries: readonly PartnerEntry[],
    private readonly baseDir: string,
    private readonly keysRefreshMs: number,
  ) {
    this.byId = new Map(entries.map((entry) => [entry.partner_id, { partner: toPartner(entry), entry }]));
  }

  partners(): readonly Partner[] {
    return [...this.byId.values()].map(({ partner }) => partner);
  }

  find(partnerId: string): Partner | undefined {
    return this.byId.get(partnerId)?.partner;
  }

  get(partnerId: string): Partner {
    const partner = this.find(partnerId);
    if (!partner) throw new UnknownPartnerError(partnerId, [...this.byId.keys()]);
    return partner;
  }

  async encryptionKeyOf(partnerId: string): Promise<KeyHandle> {
    this.get(partnerId);
    const loaded = this.loaded.get(partnerId);
    if (!loaded || Date.now() - loaded.checkedAt >= this.keysRefreshMs) await this.refresh(partnerId);
    const keys = this.loaded.get(partnerId)?.keys;
    if (!keys) {
      throw new PartnerKeysUnavailableError(
        `public keys of ${partnerId} are not available yet (${this.keyFileOf(partnerId)} is missing); ` +
          `start ${partnerId} once, which generates them, or install the JWKS it published`,
      );
    }
    return keys.encryption;
  }

  async senderEncryptionKey(partnerId: string, kid: string): Promise<KeyHandle | undefined> {
    if (!this.byId.has(partnerId)) return undefined;
    const find = () => this.loaded.get(partnerId)?.keys.encryptionKeys.find((key) => key.kid === kid);
    const known = find();
    if (known) return known;
    // As in signerOf: a key file that cannot be read leaves the kid unknown, it does not throw.
    await this.refresh(partnerId).catch(() => undefined);
    return find();
  }

  async signerOf(kid: string): Promise<{ partnerId: string; key: KeyHandle } | undefined> {
    const known = this.signers.get(kid);
    if (known) return known;
    // A malformed key file of one partner must not stop envelopes from the others being checked.
    await Promise.allSettled([...this.byId.keys()].map((partnerId) => this.refresh(partnerId)));
    return this.signers.get(kid);
  }

  /** At load: inline keys must be valid, and key files that exist must be valid; missing files wait. */
  async loadAvailableKeys(): Promise<void> {
    for (const partnerId of this.byId.keys()) await this.refresh(partnerId);
  }

  private keyFileOf(partnerId: string): string | undefined {
    const file = this.byId.get(partnerId)?.entry.public_keys_file;
    return file === undefined ? undefined : resolve(this.baseDir, file);
  }

  /** Reloads one partner's keys if they changed; concurrent callers share one reload. */
  private refresh(partnerId: string): Promise<void> {
    let pending = this.refreshing.get(partnerId);
    if (!pending) {
      pending = this.reloadKeys(partnerId).finally(() => this.refreshing.delete(partnerId));
      this.refreshing.set(partnerId, pending);
    }
    return pending;
  }

  private async reloadKeys(partnerId: string): Promise<void> {
    const entry = this.byId.get(partnerId)?.entry;
    const previous = this.loaded.get(partnerId);
    if (entry?.public_jwks) {
      // Inline keys change only with the registry file itself, so they are never checked again.
      const keys = previous?.keys ?? (await importPartnerPublicKeys(entry.public_jwks));
      if (!previous) this.install(partnerId, { keys, checkedAt: Number.POSITIVE_INFINITY });
      return;
    }
    const file = this.keyFileOf(partnerId);
    if (!file) return;
    const info = await stat(file).catch(() => undefined);
    if (!info) return;
    const stamp = `${info.ino}:${info.size}:${info.mtimeMs}`;
    if (previous?.stamp === stamp) {
      previous.checkedAt = Date.now();
      return;
    }
    this.install(partnerId, { keys: await readPublicKeyFile(file, partnerId), stamp, checkedAt: Date.now() });
  }

  private install(partnerId: string, loaded: LoadedKeys): void {
    for (const handle of loaded.keys.signing) {
      const owner = this.signers.get(handle.kid)?.partnerId;
      if (owner !== undefined && owner !== partnerId) {
        throw new RegistryError(
          `signing key ${handle.kid} of ${partnerId} is already registered for ${owner}`,
        );
      }
    }
    for (const [kid, signer] of this.signers) if (signer.partnerId === partnerId) this.signers.delete(kid);
    for (const key of loaded.keys.signing) this.signers.set(key.kid, { partnerId, key });
    this.loaded.set(partnerId, loaded);
  }
}

async function readPublicKeyFile(file: string, partnerId: string): Promise<PartnerPublicKeys> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new RegistryError(`cannot read public keys of ${partnerId} (${file}): ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RegistryError(`public keys of ${partnerId} (${file}) are not valid JSON`);
  }
  const parsed = publicJwksSchema.safeParse(json);
  if (!parsed.success) {
    throw new RegistryError(`public keys of ${partnerId} (${file}): ${formatIssues(parsed.error)}`);
  }
  return importPartnerPublicKeys(parsed.data);
}
