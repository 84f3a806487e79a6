/**
 * The two kinds of failure of the SQL engine.
 *
 * `SqlError` is a compile-time error in application code (a token the lexer
 * does not know, a syntax error, an unknown stream or column, a type that does
 * not fit). It names the line and column (both 1-based) of the offending
 * token, and `describe(code)` renders the line with a caret under the column,
 * which is what the API's CodeValidationException carries and what
 * `tributary analytics run` prints before exiting non-zero.
 *
 * `SqlRuntimeError` is raised while a row is evaluated (division by zero, a
 * failed CAST). The operator that catches it sends the row to `error_stream`
 * and carries on; it never stops the application.
 */
import { TributaryError } from '../../../sdk/protocol/errors.ts';

/** A position in application code: 1-based line and column, 0-based offset. */
export interface SourcePos {
  line: number;
  column: number;
  offset: number;
}

export class SqlError extends TributaryError {
  readonly line: number;
  readonly column: number;
  /** The message without the position, e.g. `Column 'PRICE' not found`. */
  readonly detail: string;

  constructor(detail: string, pos: SourcePos | undefined) {
    const line = pos?.line ?? 1;
    const column = pos?.column ?? 1;
    super('SQL_ERROR', `SQL error at line ${line}, column ${column}: ${detail}`);
    this.name = 'SqlError';
    this.line = line;
    this.column = column;
    this.detail = detail;
  }

  /** The message, the offending line of `code` and a caret under the column. */
  describe(code: string): string {
    const text = code.split(/\r\n|\r|\n/)[this.line - 1] ?? '';
    const caret = ' '.repeat(Math.max(0, this.column - 1)) + '^';
    return `${this.message}\n${text}\n${caret}`;
  }
}

/** Names of the runtime errors written to error_stream's ERROR_NAME column. */
export type RuntimeErrorName =
  | 'Division_By_Zero'
  | 'Type_Conversion_Error'
  | 'Numeric_Overflow'
  | 'Parse_Error'
  | 'Row_Out_Of_Order'
  | 'Function_Error'
  | 'Invalid_Argument';

export class SqlRuntimeError extends TributaryError {
  constructor(
    readonly errorName: RuntimeErrorName,
    message: string,
  ) {
    super('SQL_RUNTIME', message);
    this.name = 'SqlRuntimeError';
  }
}

export const runtimeError = (name: RuntimeErrorName, message: string): never => {
  throw new SqlRuntimeError(name, message);
};
