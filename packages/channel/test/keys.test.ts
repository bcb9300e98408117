import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ensureDevelopmentKeys,
  generatePartnerKeys,
  KeyFileError,
  loadPartnerPrivateKeys,
  MissingKeysError,
  type PartnerKeyFile,
  PRIVATE_KEYS_FILE,
  PUBLIC_KEYS_FILE,
  publicJwksOf,
  readPartnerKeyFile,
} from "../src/index.js";
import { runKeysCommand } from "../src/keys-command.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "channel-keys-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const mode = async (file: string) => (await stat(file)).mode & 0o777;

describe("partner keys", () => {
  it("generates an Ed25519 signing key and an X25519 encryption key with kid, use and alg", async () => {
    const keys = await generatePartnerKeys("partner-a", new Date("2025-03-04T00:00:00Z"));
    expect(keys.signing).toMatchObject({ kty: "OKP", crv: "Ed25519", use: "sig", alg: "EdDSA" });
    expect(keys.encryption).toMatchObject({ kty: "OKP", crv: "X25519", use: "enc", alg: "ECDH-ES+A256KW" });
    expect(keys.signing.kid).toMatch(/^partner-a-sig-20250304-[0-9a-f]{8}$/);
    expect(keys.encryption.kid).toMatch(/^partner-a-enc-20250304-[0-9a-f]{8}$/);
  });

  it("publishes public keys only: current signing and encryption, plus the previous signing and encryption keys", async () => {
    const file: PartnerKeyFile = {
      partner_id: "partner-a",
      current: await generatePartnerKeys("partner-a"),
      previous: await generatePartnerKeys("partner-a"),
    };
    const jwks = publicJwksOf(file);
    expect(jwks.keys.map((key) => key.kid)).toEqual([
      file.current.signing.kid,
      file.current.encryption.kid,
      file.previous?.signing.kid,
      file.previous?.encryption.kid,
    ]);
    // Senders encrypt to the first enc key: the current one.
    expect(jwks.keys.find((key) => key.use === "enc")?.kid).toBe(file.current.encryption.kid);
    expect(JSON.stringify(jwks)).not.toContain('"d"');
  });

  it("creates development keys once, private file 0600, and never overwrites them", async () => {
    const keysDir = join(dir, "dev", "partner-a");
    const first = await ensureDevelopmentKeys(keysDir, "partner-a");
    expect(first.created).toBe(true);
    expect(await mode(first.privateKeysFile)).toBe(0o600);
    expect(await mode(keysDir)).toBe(0o700);
    const privateText = await readFile(first.privateKeysFile, "utf8");
    const publicText = await readFile(first.publicKeysFile, "utf8");
    expect(publicText).not.toContain('"d"');

    const second = await ensureDevelopmentKeys(keysDir, "partner-a");
    expect(second.created).toBe(false);
    expect(second.keys.signing.kid).toBe(first.keys.signing.kid);
    expect(await readFile(first.privateKeysFile, "utf8")).toBe(privateText);
    expect(await readFile(first.publicKeysFile, "utf8")).toBe(publicText);
  });

  it("agrees on one set of keys when two processes start at once", async () => {
    const keysDir = join(dir, "dev", "racing");
    const results = await Promise.all([1, 2, 3].map(() => ensureDevelopmentKeys(keysDir, "partner-r")));
    expect(results.filter((result) => result.created)).toHaveLength(1);
    expect(new Set(results.map((result) => result.keys.signing.kid)).size).toBe(1);
  });

  it("restores a missing public file from the private keys, but refuses a public file without private keys", async () => {
    const keysDir = join(dir, "dev", "partner-b");
    const first = await ensureDevelopmentKeys(keysDir, "partner-b");
    await rm(first.publicKeysFile);
    await ensureDevelopmentKeys(keysDir, "partner-b");
    expect(JSON.parse(await readFile(first.publicKeysFile, "utf8")).keys[0].kid).toBe(first.keys.signing.kid);

    await rm(first.privateKeysFile);
    await expect(ensureDevelopmentKeys(keysDir, "partner-b")).rejects.toThrow(/exists but .* does not/);
  });

  it("refuses keys that belong to another partner", async () => {
    const keysDir = join(dir, "dev", "partner-c");
    await ensureDevelopmentKeys(keysDir, "partner-c");
    await expect(ensureDevelopmentKeys(keysDir, "partner-d")).rejects.toThrow(
      "belongs to partner-c, not partner-d",
    );
  });

  it("loads current and previous keys, importing decryption keys current first", async () => {
    const keysDir = join(dir, "cli", "partner-a");
    const io = { stdout: () => {}, stderr: () => {} };
    expect(await runKeysCommand(["generate", "--partner", "partner-a", "--out", keysDir], io)).toBe(0);
    expect(
      await runKeysCommand(["generate", "--partner", "partner-a", "--out", keysDir, "--rotate"], io),
    ).toBe(0);
    const file = await readPartnerKeyFile(keysDir);
    const keys = await loadPartnerPrivateKeys(keysDir);
    expect(keys.partnerId).toBe("partner-a");
    expect(keys.signing.kid).toBe(file.current.signing.kid);
    expect(keys.decryption.map((key) => key.kid)).toEqual([
      file.current.encryption.kid,
      file.previous?.encryption.kid,
    ]);
  });

  it("explains a missing or broken key file without echoing its content", async () => {
    await expect(loadPartnerPrivateKeys(join(dir, "none"))).rejects.toThrow(MissingKeysError);
    await expect(loadPartnerPrivateKeys(join(dir, "none"))).rejects.toThrow(/pnpm keys generate/);
    const keysDir = join(dir, "broken");
    await ensureDevelopmentKeys(keysDir, "partner-a");
    const privateFile = join(keysDir, PRIVATE_KEYS_FILE);
    const text = await readFile(privateFile, "utf8");
    const secret = (JSON.parse(text) as PartnerKeyFile).current.signing.d;
    await writeFile(privateFile, text.replace(secret, `${secret}!`).slice(0, -5));
    const failure = (promise: Promise<unknown>) =>
      promise.then(
        () => new Error("loaded"),
        (error: Error) => error,
      );
    const notJson = await failure(loadPartnerPrivateKeys(keysDir));
    expect(notJson).toBeInstanceOf(KeyFileError);
    expect(notJson.message).not.toContain(secret);
    await writeFile(privateFile, text.replace(secret, `${secret}!`));
    const invalid = await failure(loadPartnerPrivateKeys(keysDir));
    expect(invalid.message).toMatch(/current\.signing\.d: must be 32 bytes/);
    expect(invalid.message).not.toContain(secret);
  });

  it("refuses a private key file its group or others can read, naming the file and the chmod", async () => {
    const keysDir = join(dir, "exposed");
    await ensureDevelopmentKeys(keysDir, "partner-a");
    const privateFile = join(keysDir, PRIVATE_KEYS_FILE);
    for (const exposed of [0o640, 0o604, 0o644]) {
      await chmod(privateFile, exposed);
      const refused = loadPartnerPrivateKeys(keysDir);
      await expect(refused).rejects.toThrow(KeyFileError);
      await expect(loadPartnerPrivateKeys(keysDir)).rejects.toThrow(
        `${privateFile} is readable by its group or by others (mode 0${exposed.toString(8)}); run \`chmod 600 ${privateFile}\``,
      );
    }
    await chmod(privateFile, 0o400);
    expect((await loadPartnerPrivateKeys(keysDir)).partnerId).toBe("partner-a");
  });
});

describe("pnpm keys", () => {
  function capture() {
    const out = { stdout: "", stderr: "" };
    return {
      out,
      io: {
        stdout: (text: string) => {
          out.stdout += text;
        },
        stderr: (text: string) => {
          out.stderr += text;
        },
      },
    };
  }

  it("generates keys, prints only the public JWKS, and refuses to overwrite without --rotate", async () => {
    const keysDir = join(dir, "cli", "partner-b");
    const first = capture();
    expect(await runKeysCommand(["generate", "--partner", "partner-b", "--out", keysDir], first.io)).toBe(0);
    const printed = JSON.parse(first.out.stdout);
    expect(printed).toEqual(JSON.parse(await readFile(join(keysDir, PUBLIC_KEYS_FILE), "utf8")));
    expect(first.out.stdout + first.out.stderr).not.toContain('"d"');
    expect(await mode(join(keysDir, PRIVATE_KEYS_FILE))).toBe(0o600);

    const before = await readFile(join(keysDir, PRIVATE_KEYS_FILE), "utf8");
    const again = capture();
    expect(await runKeysCommand(["generate", "--partner", "partner-b", "--out", keysDir], again.io)).toBe(1);
    expect(again.out.stderr).toContain("pass --rotate");
    expect(await readFile(join(keysDir, PRIVATE_KEYS_FILE), "utf8")).toBe(before);
  });

  it("rotates: the old current keys become previous, and the new public JWKS is printed", async () => {
    const keysDir = join(dir, "cli", "partner-c");
    await runKeysCommand(["generate", "--partner", "partner-c", "--out", keysDir], capture().io);
    const old = await readPartnerKeyFile(keysDir);
    const rotation = capture();
    expect(
      await runKeysCommand(["generate", "--partner", "partner-c", "--out", keysDir, "--rotate"], rotation.io),
    ).toBe(0);
    const rotated = await readPartnerKeyFile(keysDir);
    expect(rotated.previous).toEqual(old.current);
    expect(rotated.current.signing.kid).not.toBe(old.current.signing.kid);
    expect(JSON.parse(rotation.out.stdout)).toEqual(publicJwksOf(rotated));
    expect(rotation.out.stdout).not.toContain(rotated.current.signing.d);
    expect(await mode(join(keysDir, PRIVATE_KEYS_FILE))).toBe(0o600);
  });

  it("revokes the previous generation from the private file and the published JWKS", async () => {
    const keysDir = join(dir, "cli", "partner-d");
    await runKeysCommand(["generate", "--partner", "partner-d", "--out", keysDir], capture().io);
    const nothing = capture();
    expect(await runKeysCommand(["revoke", "--dir", keysDir], nothing.io)).toBe(1);
    expect(nothing.out.stderr).toContain("no previous key generation");

    await runKeysCommand(["generate", "--partner", "partner-d", "--out", keysDir, "--rotate"], capture().io);
    const rotated = await readPartnerKeyFile(keysDir);
    const revocation = capture();
    expect(await runKeysCommand(["revoke", "--dir", keysDir], revocation.io)).toBe(0);
    const revoked = await readPartnerKeyFile(keysDir);
    expect(revoked).toEqual({ partner_id: "partner-d", current: rotated.current });
    const published = JSON.parse(await readFile(join(keysDir, PUBLIC_KEYS_FILE), "utf8"));
    expect(published.keys.map((key: { kid: string }) => key.kid)).toEqual([
      rotated.current.signing.kid,
      rotated.current.encryption.kid,
    ]);
    expect(JSON.parse(revocation.out.stdout)).toEqual(published);
    expect(revocation.out.stderr).toContain(rotated.previous?.signing.kid);
    expect(revocation.out.stdout + revocation.out.stderr).not.toContain(rotated.current.signing.d);
    expect(await mode(join(keysDir, PRIVATE_KEYS_FILE))).toBe(0o600);
    expect((await loadPartnerPrivateKeys(keysDir)).decryption).toHaveLength(1);
  });

  it("answers --help on stdout, and a usage error in one line with exit 2", async () => {
    const help = capture();
    expect(await runKeysCommand(["generate", "--help"], help.io)).toBe(0);
    expect(help.out.stdout).toContain("Usage: pnpm keys generate [options]");
    expect(help.out.stdout).toContain("--rotate");
    expect(help.out.stderr).toBe("");

    const unknown = capture();
    expect(await runKeysCommand(["frobnicate"], unknown.io)).toBe(2);
    expect(unknown.out.stderr).toBe(
      "error: unknown command 'frobnicate' (run 'pnpm keys --help' for usage)\n",
    );
    const missing = capture();
    expect(await runKeysCommand(["generate", "--partner", "partner-b"], missing.io)).toBe(2);
    expect(missing.out.stderr).toBe(
      "error: required option '--out <dir>' not specified (run 'pnpm keys generate --help' for usage)\n",
    );
    expect(missing.out.stdout).toBe("");
  });

  it("refuses keys of another partner and a bad partner id", async () => {
    const other = capture();
    const keysDir = join(dir, "cli", "partner-b");
    expect(
      await runKeysCommand(["generate", "--partner", "partner-x", "--out", keysDir, "--rotate"], other.io),
    ).toBe(1);
    expect(other.out.stderr).toContain("belong to partner-b");
    const bad = capture();
    expect(await runKeysCommand(["generate", "--partner", "Partner:X", "--out", keysDir], bad.io)).toBe(1);
    expect(bad.out.stderr).toContain('invalid partner id "Partner:X"');
  });
});
