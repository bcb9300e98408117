import { type CliOutput, createProgram, exitCodeOf, runCli } from "./cli.js";
import { MissingKeysError, readPartnerKeyFile, writePartnerKeyFiles } from "./key-files.js";
import { generatePartnerKeys, type PartnerKeyFile, publicJwksOf, rotatePartnerKeys } from "./keys.js";
import { assertPartnerId } from "./partner-id.js";

/** stdout receives only public material: the JWKS for the other partner, and usage. */
type KeysCommandIo = CliOutput;

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

/**
 * Drops the previous generation from the private key file and the published JWKS: once the other
 * partner has the new JWKS and nothing sealed with the old keys is in flight, they are no longer
 * needed, and a leaked old key is useless to anyone once every partner has installed the new JWKS.
 */
async function revoke(dir: string, io: KeysCommandIo): Promise<number> {
  const file = await readPartnerKeyFile(dir);
  if (!file.previous) {
    io.stderr(`no previous key generation in ${dir}; nothing to revoke\n`);
    return 1;
  }
  const { previous, ...kept } = file;
  const paths = await writePartnerKeyFiles(dir, kept, { replace: true });
  io.stderr(
    `revoked the previous keys of ${file.partner_id} (${previous.signing.kid}, ${previous.encryption.kid}) ` +
      `from ${paths.privateKeysFile} and ${paths.publicKeysFile}; give the other partner the JWKS below\n`,
  );
  io.stdout(`${JSON.stringify(publicJwksOf(kept), null, 2)}\n`);
  return 0;
}

/** The `pnpm keys` program, its actions bound to `io`. */
function keysProgram(io: KeysCommandIo) {
  const program = createProgram(
    "pnpm keys",
    "A partner's envelope keys: Ed25519 signing, X25519 encryption.",
    io,
  );
  program
    .command("generate")
    .summary("write a partner's keys and print the public JWKS")
    .description(
      "Write <dir>/private.jwks.json (mode 0600) and <dir>/public.jwks.json, and print the public JWKS " +
        "to hand to the other partner. Refuses to replace existing keys unless --rotate.",
    )
    .requiredOption("--partner <id>", "the partner id the keys belong to (e.g. partner-a)")
    .requiredOption("--out <dir>", "the keys folder")
    .option("--rotate", 'replace existing keys, keeping them as "previous" so envelopes in flight still open')
    .action(
      exitCodeOf((options: { partner: string; out: string; rotate?: boolean }) =>
        generate(options.partner, options.out, options.rotate ?? false, io),
      ),
    );
  program
    .command("public")
    .summary("print the public JWKS of existing keys")
    .description("Print the public JWKS of existing keys.")
    .requiredOption("--dir <dir>", "the keys folder")
    .action(
      exitCodeOf(async (options: { dir: string }) => {
        io.stdout(`${JSON.stringify(publicJwksOf(await readPartnerKeyFile(options.dir)), null, 2)}\n`);
        return 0;
      }),
    );
  program
    .command("revoke")
    .summary("remove the previous key generation and print the new public JWKS")
    .description(
      "Remove the previous keys (kept by --rotate) from <dir>/private.jwks.json and " +
        "<dir>/public.jwks.json, and print the public JWKS to hand to the other partner. " +
        "Envelopes sealed to or signed with the previous keys no longer open.",
    )
    .requiredOption("--dir <dir>", "the keys folder")
    .action(exitCodeOf((options: { dir: string }) => revoke(options.dir, io)));
  return program;
}

/**
 * `pnpm keys …`; returns the exit code: 0 done, 1 refused or failed, 2 usage error. Never writes
 * private key material to either stream.
 */
export async function runKeysCommand(argv: readonly string[], io: KeysCommandIo): Promise<number> {
  try {
    return await runCli(keysProgram(io), argv);
  } catch (error) {
    io.stderr(`keys: ${(error as Error).message}\n`);
    return 1;
  }
}
