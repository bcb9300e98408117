import { parseArgs } from "node:util";
import { MissingKeysError, readPartnerKeyFile, writePartnerKeyFiles } from "./key-files.js";
import { generatePartnerKeys, type PartnerKeyFile, publicJwksOf, rotatePartnerKeys } from "./keys.js";
import { assertPartnerId } from "./partner-id.js";

export const KEYS_USAGE = `Usage:
  pnpm keys generate --partner <id> --out <dir> [--rotate]
      Writes <dir>/private.jwks.json (mode 0600) and <dir>/public.jwks.json, and prints the public
      JWKS to hand to the other partner. Refuses to replace existing keys unless --rotate, which
      keeps the current keys as "previous" so envelopes in flight still open.
  pnpm keys public --dir <dir>
      Prints the public JWKS of existing keys.`;

export interface KeysCommandIo {
  /** Receives only public material: the JWKS for the other partner. */
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

async function existingKeyFile(dir: string): Promise<PartnerKeyFile | undefined> {
  try {
    return await readPartnerKeyFile(dir);
  } catch (error) {
    if (error instanceof MissingKeysError) return undefined;
    throw error;
  }
}

async function generate(partner: string, out: string, rotate: boolean, io: KeysCommandIo): Promise<number> {
  assertPartnerId(partner);
  const existing = await existingKeyFile(out);
  if (existing && !rotate) {
    io.stderr(
      `keys already exist in ${out}; pass --rotate to replace them (the current keys become previous)\n`,
    );
    return 1;
  }
  if (existing && existing.partner_id !== partner) {
    io.stderr(`keys in ${out} belong to ${existing.partner_id}, not ${partner}\n`);
    return 1;
  }
  const next = await generatePartnerKeys(partner);
  const file = existing ? rotatePartnerKeys(existing, next) : { partner_id: partner, current: next };
  const paths = await writePartnerKeyFiles(out, file, { replace: existing !== undefined });
  io.stderr(
    `${existing ? "rotated" : "generated"} keys for ${partner}: ${paths.privateKeysFile} (private, keep it here), ${paths.publicKeysFile}\n` +
      `current kids: ${next.signing.kid}, ${next.encryption.kid}\n`,
  );
  io.stdout(`${JSON.stringify(publicJwksOf(file), null, 2)}\n`);
  return 0;
}

/** `pnpm keys …`; returns the exit code. Never writes private key material to either stream. */
export async function runKeysCommand(argv: readonly string[], io: KeysCommandIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    const { values } = parseArgs({
      args: [...rest],
      options: {
        partner: { type: "string" },
        out: { type: "string" },
        dir: { type: "string" },
        rotate: { type: "boolean", default: false },
      },
      strict: true,
    });
    if (command === "generate" && values.partner && values.out) {
      return await generate(values.partner, values.out, values.rotate ?? false, io);
    }
    if (command === "public" && values.dir) {
      io.stdout(`${JSON.stringify(publicJwksOf(await readPartnerKeyFile(values.dir)), null, 2)}\n`);
      return 0;
    }
    io.stderr(`${KEYS_USAGE}\n`);
    return 2;
  } catch (error) {
    io.stderr(`keys: ${(error as Error).message}\n`);
    return 1;
  }
}
