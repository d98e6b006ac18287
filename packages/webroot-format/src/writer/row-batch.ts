import type Database from 'better-sqlite3';

/**
 * Rows for one table, inserted `rowsPerStatement` at a time with one multi-row
 * `INSERT ... VALUES (...), (...)`: better-sqlite3's `run()` per row cost more
 * than SQLite's own work for a small row (measured in bench/README, large sites).
 * `flush()` inserts what is pending (a shorter tail gets its own statement, kept
 * too). Callers that read the table back flush first.
 */
export class RowBatch {
  private readonly statements = new Map<number, Database.Statement>();
  private params: unknown[] = [];
  private rows = 0;

  constructor(
    private readonly db: Database.Database,
    private readonly insertInto: string,
    private readonly columns: number,
    private readonly rowsPerStatement = 128,
  ) {}

  get pending(): number {
    return this.rows;
  }

  add(...values: unknown[]): void {
    if (values.length !== this.columns) throw new Error(`RowBatch: ${this.columns} values a row, got ${values.length}`);
    for (const v of values) this.params.push(v);
    if (++this.rows === this.rowsPerStatement) this.flush();
  }

  flush(): void {
    if (this.rows === 0) return;
    const params = this.params;
    const rows = this.rows;
    this.params = [];
    this.rows = 0;
    this.statementFor(rows).run(params);
  }

  private statementFor(rows: number): Database.Statement {
    let s = this.statements.get(rows);
    if (s === undefined) {
      const row = `(${new Array(this.columns).fill('?').join(', ')})`;
      s = this.db.prepare(`${this.insertInto} VALUES ${new Array(rows).fill(row).join(', ')}`);
      this.statements.set(rows, s);
    }
    return s;
  }
}
