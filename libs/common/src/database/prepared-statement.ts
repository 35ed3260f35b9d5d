import { createHash } from 'node:crypto';
import type { Pool, QueryResultRow } from 'pg';
import type { DataSource } from 'typeorm';

/**
 * A hot-path SQL statement that PostgreSQL parses and plans once per pooled connection
 * instead of on every call (a node-postgres named statement). For the statements run on
 * every request — the caller lookup, storing a cache hit's places — planning cost more
 * than executing. Runs on TypeORM's own pool, outside any transaction; driver errors are
 * the same as `dataSource.query`'s (code, message), so the error filter maps them alike.
 *
 * The name is derived from the text, so two statements never share a name by accident.
 *
 * Only for statements whose plan cannot go stale: primary-key lookups and inserts that
 * read no table. After five runs PostgreSQL may keep one generic plan per connection, made
 * with the statistics of that moment; a statement that chooses between indexes (or a scan)
 * could keep a plan made when the table was nearly empty.
 */
export class PreparedStatement<Row extends QueryResultRow = QueryResultRow> {
  readonly name: string;

  constructor(readonly text: string) {
    this.name = `ps_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
  }

  async run(dataSource: DataSource, values: unknown[]): Promise<Row[]> {
    const pool = (dataSource.driver as unknown as { master: Pool }).master;
    const result = await pool.query<Row>({ name: this.name, text: this.text, values });
    return result.rows;
  }
}
