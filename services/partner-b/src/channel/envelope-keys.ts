import { mkdir } from "node:fs/promises";
import {
  createEnvelopeOpener,
  createEnvelopeSealer,
  type EnvelopeOpener,
  type EnvelopeSealer,
  ensureDevelopmentKeys,
  loadPartnerPrivateKeys,
  type PartnerRegistry,
} from "@share-broker/channel";
import type { Logger } from "@share-broker/service-kit";

export interface EnvelopeCrypto {
  opener: EnvelopeOpener;
  sealer: EnvelopeSealer;
}

/**
 * This partner's envelope keys, imported once. Outside production a missing key pair is generated
 * on first run (docs/PROTOCOL.md#keys-and-rotation); in production the keys must already be in KEYS_DIR.
 */
export async function loadEnvelopeCrypto(options: {
  partnerId: string;
  keysDir: string;
  registry: PartnerRegistry;
  production: boolean;
  logger: Logger;
}): Promise<EnvelopeCrypto> {
  const { partnerId, keysDir, registry } = options;
  let keys: Awaited<ReturnType<typeof loadPartnerPrivateKeys>>;
  if (options.production) {
    keys = await loadPartnerPrivateKeys(keysDir);
  } else {
    await mkdir(keysDir, { recursive: true, mode: 0o700 });
    const development = await ensureDevelopmentKeys(keysDir, partnerId);
    if (development.created) {
      options.logger.warn(
        { public_keys_file: development.publicKeysFile },
        "generated development envelope keys; hand the public file to partners",
      );
    }
    keys = development.keys;
  }
  return {
    opener: createEnvelopeOpener({ self: partnerId, keys, registry }),
    sealer: createEnvelopeSealer({ self: partnerId, keys, registry }),
  };
}
