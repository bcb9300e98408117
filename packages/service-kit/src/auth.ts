import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { AppError, ErrorCode } from "./errors.js";

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * Checks Bearer keys in constant time: both sides are hashed to 32 bytes first, so neither the
 * key's content nor its length leaks through timing, and every configured key is compared.
 */
export class ApiKeyVerifier {
  readonly #digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.#digests = keys.map(digest);
  }

  verify(candidate: string): boolean {
    const candidateDigest = digest(candidate);
    let matched = false;
    for (const known of this.#digests) {
      if (timingSafeEqual(known, candidateDigest)) matched = true;
    }
    return matched;
  }
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== "string") return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

export function requireApiKey(verifier: ApiKeyVerifier, request: FastifyRequest): void {
  const token = bearerToken(request);
  if (token === undefined || !verifier.verify(token)) {
    throw new AppError(
      401,
      ErrorCode.unauthenticated,
      token === undefined ? "Send an API key as 'Authorization: Bearer <key>'." : "The API key is not valid.",
      { headers: { "www-authenticate": 'Bearer realm="share-broker"' } },
    );
  }
}
