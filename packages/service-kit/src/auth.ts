import { createHash, timingSafeEqual } from "node:crypto";
import { API_SCOPES, type ApiScope, grantsScope } from "@share-broker/contracts";
import type { FastifyRequest } from "fastify";
import { AppError, ErrorCode } from "./errors.js";

/** Who is calling: the named holder of an API key and what it may do. */
export interface Principal {
  readonly name: string;
  readonly scopes: ReadonlySet<ApiScope>;
}

/** A configured principal: its key is known only as the SHA-256 of the key. */
export interface PrincipalEntry {
  readonly name: string;
  readonly scopes: readonly ApiScope[];
  /** Lowercase hex SHA-256 of the key's UTF-8 bytes. */
  readonly keySha256: string;
}

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex");
}

/**
 * API_KEYS, the fallback: each key becomes a principal with every scope, named by its position
 * (api-key-1, api-key-2, …) so audit events never carry the key itself.
 */
export function principalsFromKeys(keys: readonly string[]): PrincipalEntry[] {
  return keys.map((key, index) => ({
    name: `api-key-${index + 1}`,
    scopes: [...API_SCOPES],
    keySha256: sha256Hex(key),
  }));
}

/**
 * Checks Bearer keys in constant time: the candidate is hashed to 32 bytes and compared with the
 * hash of every configured key (no early exit), so neither the key's content nor its length, nor
 * which principal matched, leaks through timing.
 */
export class PrincipalVerifier {
  readonly #known: Array<{ digest: Buffer; principal: Principal }>;

  constructor(entries: readonly PrincipalEntry[]) {
    this.#known = entries.map((entry) => ({
      digest: Buffer.from(entry.keySha256, "hex"),
      principal: { name: entry.name, scopes: new Set(entry.scopes) },
    }));
  }

  identify(candidate: string): Principal | undefined {
    const candidateDigest = createHash("sha256").update(candidate, "utf8").digest();
    let matched: Principal | undefined;
    for (const known of this.#known) {
      if (timingSafeEqual(known.digest, candidateDigest)) matched = known.principal;
    }
    return matched;
  }
}

/**
 * A plain set of keys with no principals, for the sandbox's own credentials: compared like
 * PrincipalVerifier, in constant time on their hashes.
 */
export class ApiKeyVerifier {
  readonly #principals: PrincipalVerifier;

  constructor(keys: readonly string[]) {
    this.#principals = new PrincipalVerifier(principalsFromKeys(keys));
  }

  verify(candidate: string): boolean {
    return this.#principals.identify(candidate) !== undefined;
  }
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== "string") return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** The caller's principal, or 401 unauthenticated. */
export function authenticate(verifier: PrincipalVerifier, request: FastifyRequest): Principal {
  const token = bearerToken(request);
  const principal = token === undefined ? undefined : verifier.identify(token);
  if (principal === undefined) {
    throw new AppError(
      401,
      ErrorCode.unauthenticated,
      token === undefined ? "Send an API key as 'Authorization: Bearer <key>'." : "The API key is not valid.",
      { headers: { "www-authenticate": 'Bearer realm="share-broker"' } },
    );
  }
  return principal;
}

/** 403 insufficient_scope unless the principal holds `needed` (or admin). */
export function requireScope(principal: Principal, needed: ApiScope): void {
  if (grantsScope(principal.scopes, needed)) return;
  throw new AppError(
    403,
    ErrorCode.insufficientScope,
    `This API key lacks the scope '${needed}' this operation needs.`,
    {
      headers: {
        "www-authenticate": `Bearer realm="share-broker", error="insufficient_scope", scope="${needed}"`,
      },
    },
  );
}

/** 401 unless the request carries one of the verifier's keys (routes without principals). */
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
