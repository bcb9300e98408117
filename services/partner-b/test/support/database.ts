import { randomUUID } from "node:crypto";
import pg from "pg";
import { linkCodeHash, newLinkCode } from "../../src/links/link-codes.js";

/** Read access to partner-b's database from the test. */
export class PartnerBDatabase {
  readonly #pool: pg.Pool;

  constructor(url: string) {
    this.#pool = new pg.Pool({ connectionString: url, max: 2 });
  }

  async query<T extends Record<string, unknown>>(text: string, values: unknown[] = []): Promise<T[]> {
    return (await this.#pool.query<T>(text, values)).rows;
  }

  /**
   * Issues a link request for `userRef` as POST /v1/link-requests does, straight in the database
   * (so offers can be prepared while partner-b is down), and answers its code.
   */
  async issueLink(userRef: string, options: { source?: string; expiresInSeconds?: number } = {}) {
    const code = newLinkCode();
    await this.query(
      `insert into link_requests (link_id, user_ref, source, code_hash, expires_at)
       values ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
      [randomUUID(), userRef, options.source ?? null, linkCodeHash(code), options.expiresInSeconds ?? 1800],
    );
    return code;
  }

  async importsOfShare(shareId: string) {
    return this.query<{
      import_id: string;
      status: string;
      reason: string | null;
      didit_session_id: string | null;
    }>("select * from imports where share_id = $1", [shareId]);
  }

  async auditOf(shareId: string) {
    return this.query<{ action: string; outcome: string; details: Record<string, unknown> }>(
      "select action, outcome, details from audit_events where share_id = $1 order by id",
      [shareId],
    );
  }

  /** Every row of every table of the public schema, as text: what a "no secret at rest" check searches. */
  async dumpAllTables(): Promise<string> {
    const tables = await this.query<{ table_name: string }>(
      "select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'",
    );
    const parts: string[] = [];
    for (const { table_name } of tables) {
      const rows = await this.query<{ row: string }>(`select t::text as row from "${table_name}" t`);
      parts.push(`${table_name}:`, ...rows.map((r) => r.row));
    }
    return parts.join("\n");
  }

  close(): Promise<void> {
    return this.#pool.end();
  }
}
