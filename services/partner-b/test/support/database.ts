import pg from "pg";

/** Read access to partner-b's database from the test. */
export class PartnerBDatabase {
  readonly #pool: pg.Pool;

  constructor(url: string) {
    this.#pool = new pg.Pool({ connectionString: url, max: 2 });
  }

  async query<T extends Record<string, unknown>>(text: string, values: unknown[] = []): Promise<T[]> {
    return (await this.#pool.query<T>(text, values)).rows;
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
