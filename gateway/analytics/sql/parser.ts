/**
 * Parser for KDA application code: a sequence of statements separated by
 * semicolons.
 *
 *   CREATE [OR REPLACE] STREAM name (col type [NOT NULL], ...) [DESCRIPTION '...'];
 *   CREATE [OR REPLACE] PUMP name [DESCRIPTION '...'] AS INSERT INTO stream [(cols)] query;
 *   CREATE [OR REPLACE] VIEW name [(cols)] AS query;
 *   CREATE [OR REPLACE] FUNCTION name (param type, ...) RETURNS type
 *       [LANGUAGE SQL] [[NOT] DETERMINISTIC] [CONTAINS SQL | NO SQL | READS SQL DATA] RETURN expr;
 *
 * A query is `SELECT [STREAM] [DISTINCT|ALL] items [FROM from] [WHERE e]
 * [GROUP BY ...] [WINDOWED BY STAGGER (PARTITION BY ... RANGE INTERVAL ...)]
 * [HAVING e] [WINDOW w AS (...), ...] [ORDER BY ...]`, possibly combined with
 * UNION ALL. FROM items are streams, views, reference tables, sub-queries,
 * `TABLE(fn(CURSOR(...), ...))` and joins of them; a stream in a join may
 * carry `OVER (RANGE ... PRECEDING)` or `OVER w`.
 */
import type { FromItem, Ident, JoinType, Query, Select, SelectItem, Statement } from './ast.ts';
import { SqlError } from './errors.ts';
import { tokenize } from './lexer.ts';
import { ExprParser } from './parse-expr.ts';

class Parser extends ExprParser {
  parseStatements(): Statement[] {
    const out: Statement[] = [];
    for (;;) {
      while (this.acceptOp(';'));
      if (this.atEnd()) return out;
      out.push(this.parseStatement());
      if (!this.atEnd() && !this.isOp(';')) this.fail("expected ';' between statements");
    }
  }

  private parseStatement(): Statement {
    const start = this.tok;
    const pos = this.pos(start);
    if (this.is('SELECT')) this.fail('a query on its own is not allowed in application code; insert its rows with CREATE PUMP ... AS INSERT INTO ... SELECT STREAM');
    if (this.is('INSERT')) this.fail('INSERT runs only inside a pump: CREATE PUMP "name" AS INSERT INTO ...');
    this.expect('CREATE');
    const orReplace = this.accept('OR') ? (this.expect('REPLACE'), true) : false;
    if (this.accept('STREAM')) return this.parseCreateStream(orReplace, pos);
    if (this.accept('PUMP')) return this.parseCreatePump(orReplace, pos);
    if (this.accept('VIEW')) {
      const name = this.ident('a view name');
      const columns = this.isOp('(') ? this.identList() : undefined;
      this.expect('AS');
      return { kind: 'createView', name, ...(columns ? { columns } : {}), orReplace, query: this.parseQuery(), pos };
    }
    if (this.accept('FUNCTION')) return this.parseCreateFunction(orReplace, pos);
    if (this.is('TABLE')) this.fail('in-application tables come from reference data sources, not CREATE TABLE');
    return this.fail('expected STREAM, PUMP, VIEW or FUNCTION after CREATE');
  }

  private parseCreateStream(orReplace: boolean, pos: Statement['pos']): Statement {
    const name = this.ident('a stream name');
    this.expectOp('(');
    const columns = [];
    do {
      const colName = this.ident('a column name');
      const type = this.parseType();
      let notNull = false;
      if (this.accept('NOT')) {
        this.expect('NULL');
        notNull = true;
      } else this.accept('NULL');
      columns.push({ name: colName, type, notNull, pos: colName.pos });
    } while (this.acceptOp(','));
    this.expectOp(')');
    const description = this.parseDescription();
    this.skipOptions();
    return { kind: 'createStream', name, columns, orReplace, ...(description !== undefined ? { description } : {}), pos };
  }

  private parseDescription(): string | undefined {
    if (!this.accept('DESCRIPTION')) return undefined;
    if (this.tok.kind !== 'string') this.fail('expected a string after DESCRIPTION');
    return this.next().value;
  }

  /** SQLstream's `OPTIONS (...)` on streams; accepted and ignored. */
  private skipOptions(): void {
    if (!this.accept('OPTIONS')) return;
    this.expectOp('(');
    let depth = 1;
    while (depth > 0) {
      if (this.tok.kind === 'eof') this.fail("expected ')'");
      const t = this.next();
      if (t.kind === 'op' && t.value === '(') depth++;
      if (t.kind === 'op' && t.value === ')') depth--;
    }
  }

  private parseCreatePump(orReplace: boolean, pos: Statement['pos']): Statement {
    const name = this.ident('a pump name');
    this.parseDescription();
    this.expect('AS');
    this.expect('INSERT');
    this.expect('INTO');
    const target = this.ident('a stream name');
    const columns = this.isOp('(') && !this.is('SELECT', this.peek()) ? this.identList() : undefined;
    const query = this.parseQuery();
    return { kind: 'createPump', name, orReplace, target, ...(columns ? { columns } : {}), query, pos };
  }

  private parseCreateFunction(orReplace: boolean, pos: Statement['pos']): Statement {
    const name = this.ident('a function name');
    this.expectOp('(');
    const params: Array<{ name: Ident; type: ReturnType<Parser['parseType']> }> = [];
    if (!this.isOp(')')) {
      do params.push({ name: this.ident('a parameter name'), type: this.parseType() });
      while (this.acceptOp(','));
    }
    this.expectOp(')');
    this.expect('RETURNS');
    const returns = this.parseType();
    for (;;) {
      if (this.accept('LANGUAGE')) this.expect('SQL');
      else if (this.accept('DETERMINISTIC') || this.accept('CONTAINS')) this.accept('SQL');
      else if (this.accept('NOT')) this.expect('DETERMINISTIC');
      else if (this.accept('NO')) this.expect('SQL');
      else if (this.accept('READS')) (this.expect('SQL'), this.expect('DATA'));
      else if (this.accept('RETURNS')) (this.expect('NULL'), this.expect('ON'), this.expect('NULL'), this.expect('INPUT'));
      else if (this.accept('CALLED')) (this.expect('ON'), this.expect('NULL'), this.expect('INPUT'));
      else break;
    }
    if (this.is('EXTERNAL')) this.fail('external (Java) functions are not supported; write the body as RETURN expression');
    this.expect('RETURN');
    const body = this.parseExpr();
    return { kind: 'createFunction', name, params, returns, body, orReplace, pos };
  }

  private identList(): Ident[] {
    this.expectOp('(');
    const out = [this.ident('a column name')];
    while (this.acceptOp(',')) out.push(this.ident('a column name'));
    this.expectOp(')');
    return out;
  }

  // ------------------------------------------------------------ queries

  parseQuery(): Query {
    let left = this.parseQueryTerm();
    while (this.is('UNION')) {
      const pos = this.pos(this.next());
      const all = this.accept('ALL');
      if (!all) this.fail('only UNION ALL is allowed on streams', this.tokens[this.i - 1]);
      left = { kind: 'union', all, left, right: this.parseQueryTerm(), pos };
    }
    if (this.is('EXCEPT') || this.is('INTERSECT')) this.fail(`${this.tok.value} is not allowed on streams`);
    return left;
  }

  private parseQueryTerm(): Query {
    if (this.isOp('(')) {
      this.next();
      const q = this.nest(() => this.parseQuery());
      this.expectOp(')');
      return q;
    }
    return this.parseSelect();
  }

  private parseSelect(): Select {
    const pos = this.pos(this.expect('SELECT'));
    const stream = this.accept('STREAM');
    const distinct = this.accept('DISTINCT');
    if (!distinct) this.accept('ALL');
    const items: SelectItem[] = [];
    do items.push(this.parseSelectItem());
    while (this.acceptOp(','));
    const select: Select = { kind: 'select', stream, distinct, items, windows: [], pos };
    if (this.accept('FROM')) select.from = this.parseFrom();
    if (this.accept('WHERE')) select.where = this.parseExpr();
    if (this.accept('GROUP')) {
      this.expect('BY');
      select.groupBy = [this.parseExpr()];
      while (this.acceptOp(',')) select.groupBy.push(this.parseExpr());
    }
    if (this.is('WINDOWED')) select.stagger = this.parseStagger();
    if (this.accept('HAVING')) select.having = this.parseExpr();
    if (this.accept('WINDOW')) {
      do {
        const name = this.ident('a window name');
        this.expect('AS');
        const open = this.expectOp('(');
        select.windows.push({ name, spec: this.parseWindowSpecBody(this.pos(open)) });
        this.expectOp(')');
      } while (this.acceptOp(','));
    }
    if (this.accept('ORDER')) {
      this.expect('BY');
      select.orderBy = this.parseOrderList();
    }
    if (this.is('LIMIT') || this.is('FETCH') || this.is('OFFSET')) this.fail(`${this.tok.value} is not allowed on streams`);
    return select;
  }

  private parseStagger(): Select['stagger'] {
    const pos = this.pos(this.next());
    this.expect('BY');
    this.expect('STAGGER');
    this.expectOp('(');
    this.expect('PARTITION');
    this.expect('BY');
    const partitionBy = [this.parseExpr()];
    while (this.acceptOp(',')) partitionBy.push(this.parseExpr());
    this.expect('RANGE');
    const range = this.parseExpr();
    this.expectOp(')');
    return { partitionBy, range, pos };
  }

  private parseSelectItem(): SelectItem {
    const pos = this.pos();
    const expr = this.parseExpr();
    if (this.accept('AS')) return { expr, alias: this.ident('an alias'), pos };
    if (this.isIdentStart()) return { expr, alias: this.ident(), pos };
    return { expr, pos };
  }

  // ------------------------------------------------------------ FROM

  private parseFrom(): FromItem {
    let left = this.parseFromPrimary();
    for (;;) {
      const pos = this.pos();
      if (this.acceptOp(',')) {
        left = { kind: 'join', type: 'CROSS', left, right: this.parseFromPrimary(), pos };
        continue;
      }
      const type = this.joinType();
      if (!type) return left;
      const right = this.parseFromPrimary();
      if (type === 'CROSS') {
        left = { kind: 'join', type, left, right, pos };
        continue;
      }
      this.expect('ON');
      left = { kind: 'join', type, left, right, on: this.parseExpr(), pos };
    }
  }

  private joinType(): JoinType | undefined {
    if (this.accept('JOIN')) return 'INNER';
    if (this.accept('INNER')) return (this.expect('JOIN'), 'INNER');
    if (this.accept('CROSS')) return (this.expect('JOIN'), 'CROSS');
    if (this.is('NATURAL')) this.fail('NATURAL joins are not supported; join ON the columns');
    for (const t of ['LEFT', 'RIGHT', 'FULL'] as const) {
      if (this.accept(t)) {
        this.accept('OUTER');
        this.expect('JOIN');
        return t;
      }
    }
    // The developer guide writes `OUTER JOIN` on its own for a full outer join.
    if (this.accept('OUTER')) return (this.expect('JOIN'), 'FULL');
    return undefined;
  }

  private parseFromPrimary(): FromItem {
    const pos = this.pos();
    if (this.accept('TABLE')) {
      this.expectOp('(');
      const call = this.parseExpr();
      if (call.kind !== 'call') throw new SqlError('expected a table function call inside TABLE(...)', call.pos);
      this.expectOp(')');
      return { kind: 'tableFunction', call, ...this.parseAlias(), pos };
    }
    if (this.isOp('(')) {
      this.next();
      if (!this.is('SELECT') && !this.isOp('(')) {
        const inner = this.parseFrom();
        this.expectOp(')');
        return inner;
      }
      const query = this.nest(() => this.parseQuery());
      this.expectOp(')');
      const over = this.accept('OVER') ? this.parseWindowRef() : undefined;
      return { kind: 'subquery', query, ...(over ? { over } : {}), ...this.parseAlias(), pos };
    }
    let name = this.ident('a stream or table name');
    // A schema-qualified name ("SCHEMA"."STREAM"): the schema is ignored, KDA has one.
    if (this.isOp('.')) {
      this.next();
      name = this.ident('a stream or table name');
    }
    const over = this.accept('OVER') ? this.parseWindowRef() : undefined;
    return { kind: 'stream', name, ...(over ? { over } : {}), ...this.parseAlias(), pos };
  }

  /** `[AS] alias [(col, ...)]`. */
  private parseAlias(): { alias?: Ident; columnAliases?: Ident[] } {
    const explicit = this.accept('AS');
    if (!explicit && !this.isIdentStart()) return {};
    const alias = this.ident('an alias');
    if (!this.isOp('(')) return { alias };
    return { alias, columnAliases: this.identList() };
  }
}

/** Parses application code into statements; throws SqlError with the line and column of the first problem. */
export function parseApplicationCode(code: string): Statement[] {
  return new Parser(tokenize(code)).parseStatements();
}

/** Parses a single SQL type such as `VARCHAR(4)` or `DECIMAL(5,2)` (the API's RecordColumn SqlType). */
export function parseTypeString(text: string): ReturnType<Parser['parseType']> {
  const p = new Parser(tokenize(text));
  const t = p.parseType();
  p.expectEnd();
  return t;
}

/** Parses one expression (tests, and the function bodies of the runtime's own helpers). */
export function parseExpression(text: string): ReturnType<Parser['parseExpr']> {
  const p = new Parser(tokenize(text));
  const e = p.parseExpr();
  p.expectEnd();
  return e;
}
