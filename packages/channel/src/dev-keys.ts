import { access } from "node:fs/promises";
import {
  isMissingFile,
  KeyFileError,
  keyFilePaths,
  readPartnerKeyFile,
  writePartnerKeyFiles,
  writePublicJwksFile,
} from "./key-files.js";
import {
  generatePartnerKeys,
  importPartnerPrivateKeys,
  type PartnerKeyFile,
  type PartnerPrivateKeys,
} from "./keys.js";

export interface DevelopmentKeys {
  /** Whether this call generated the keys (first run). */
  created: boolean;
  keys: PartnerPrivateKeys;
  privateKeysFile: string;
  publicKeysFile: string;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch (error) {
    if (isMissingFile(error)) return false;
    throw error;
  }
}

function isAlreadyExists(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === "EEXIST";
}

/**
 * Development only: gives a partner envelope keys on its first run, so a fresh clone works without
 * a manual step. Existing files are never overwritten: keys that peers already know stay valid, and
 * two processes starting at once agree on the keys the first one wrote.
 */
export async function ensureDevelopmentKeys(keysDir: string, partnerId: string): Promise<DevelopmentKeys> {
  const paths = keyFilePaths(keysDir);
  let created = false;
  if (!(await exists(paths.privateKeysFile))) {
    if (await exists(paths.publicKeysFile)) {
      // Generating now would leave peers holding public keys we can no longer decrypt for.
      throw new KeyFileError(
        `${paths.publicKeysFile} exists but ${paths.privateKeysFile} does not; restore the private keys or remove the public file`,
      );
    }
    const file: PartnerKeyFile = { partner_id: partnerId, current: await generatePartnerKeys(partnerId) };
    try {
      await writePartnerKeyFiles(keysDir, file);
      created = true;
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
  }
  const file = await readPartnerKeyFile(keysDir);
  if (file.partner_id !== partnerId) {
    throw new KeyFileError(`${paths.privateKeysFile} belongs to ${file.partner_id}, not ${partnerId}`);
  }
  if (!(await exists(paths.publicKeysFile))) {
    try {
      await writePublicJwksFile(keysDir, file);
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
  }
  return { created, keys: await importPartnerPrivateKeys(file), ...paths };
}
