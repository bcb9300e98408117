import { randomBytes } from "node:crypto";
import { type FileHandle, link, mkdir, open, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  importPartnerPrivateKeys,
  type PartnerKeyFile,
  type PartnerPrivateKeys,
  partnerKeyFileSchema,
  publicJwksOf,
} from "./keys.js";

export const PRIVATE_KEYS_FILE = "private.jwks.json";
export const PUBLIC_KEYS_FILE = "public.jwks.json";

/** Problems with a key file. Messages name the file and the field, never key material. */
export class KeyFileError extends Error {
  override name = "KeyFileError";
}

/** No private key file yet: on a fresh machine, the cue to generate keys. */
export class MissingKeysError extends KeyFileError {
  override name = "MissingKeysError";
}

export function keyFilePaths(keysDir: string): { privateKeysFile: string; publicKeysFile: string } {
  return {
    privateKeysFile: join(keysDir, PRIVATE_KEYS_FILE),
    publicKeysFile: join(keysDir, PUBLIC_KEYS_FILE),
  };
}

export function isMissingFile(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}

/**
 * JSON.parse messages quote the text around the error, which here would be private key material;
 * say only where the problem is.
 */
export function parseJsonFile(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new KeyFileError(`${file} is not valid JSON`);
  }
}

/**
 * Private keys readable by the group or by everyone are refused, like ssh does: another account on
 * the host could copy them and then read and forge envelopes. The mode is checked on the open
 * handle, so it is the file actually read.
 */
async function assertPrivateMode(handle: FileHandle, file: string): Promise<void> {
  const mode = (await handle.stat()).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new KeyFileError(
      `${file} is readable by its group or by others (mode ${mode.toString(8).padStart(4, "0")}); ` +
        `run \`chmod 600 ${file}\``,
    );
  }
}

async function readPrivateKeysText(privateKeysFile: string, keysDir: string): Promise<string> {
  let handle: FileHandle;
  try {
    handle = await open(privateKeysFile, "r");
  } catch (error) {
    if (isMissingFile(error)) {
      throw new MissingKeysError(
        `no private keys at ${privateKeysFile}; create them with \`pnpm keys generate --partner <id> --out ${keysDir}\``,
      );
    }
    throw error;
  }
  try {
    await assertPrivateMode(handle, privateKeysFile);
    return await handle.readFile("utf8");
  } finally {
    await handle.close();
  }
}

export async function readPartnerKeyFile(keysDir: string): Promise<PartnerKeyFile> {
  const { privateKeysFile } = keyFilePaths(keysDir);
  const text = await readPrivateKeysText(privateKeysFile, keysDir);
  const parsed = partnerKeyFileSchema.safeParse(parseJsonFile(text, privateKeysFile));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KeyFileError(`${privateKeysFile}: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`);
  }
  return parsed.data;
}

/** Reads `keysDir/private.jwks.json` and imports its keys once, for the life of the process. */
export async function loadPartnerPrivateKeys(keysDir: string): Promise<PartnerPrivateKeys> {
  return importPartnerPrivateKeys(await readPartnerKeyFile(keysDir));
}

/**
 * Writes a file that readers (a peer loading our public keys, a second process starting) must never
 * see half-written, through a temporary file. A new file is then linked into place, which fails with
 * EEXIST if another process got there first; a replacement (rotation) is an atomic rename.
 */
async function writeKeyFile(file: string, text: string, mode: number, replace: boolean): Promise<void> {
  const temporary = `${file}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(temporary, text, { flag: "wx", mode });
    await (replace ? rename(temporary, file) : link(temporary, file));
  } finally {
    await rm(temporary, { force: true });
  }
}

export interface WriteKeyFilesOptions {
  /** Replace existing files (a rotation). Without it, existing files make the write fail. */
  replace?: boolean;
}

/** Writes the private key file (mode 0600, folder 0700) and the public JWKS next to it. */
export async function writePartnerKeyFiles(
  keysDir: string,
  file: PartnerKeyFile,
  options: WriteKeyFilesOptions = {},
): Promise<{ privateKeysFile: string; publicKeysFile: string }> {
  const paths = keyFilePaths(keysDir);
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  const replace = options.replace ?? false;
  await writeKeyFile(paths.privateKeysFile, `${JSON.stringify(file, null, 2)}\n`, 0o600, replace);
  await writePublicJwksFile(keysDir, file, { replace });
  return paths;
}

export async function writePublicJwksFile(
  keysDir: string,
  file: PartnerKeyFile,
  options: WriteKeyFilesOptions = {},
): Promise<string> {
  const { publicKeysFile } = keyFilePaths(keysDir);
  const text = `${JSON.stringify(publicJwksOf(file), null, 2)}\n`;
  await writeKeyFile(publicKeysFile, text, 0o644, options.replace ?? false);
  return publicKeysFile;
}
