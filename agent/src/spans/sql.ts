// SQL statements grouped by shape: literals become `?` so `WHERE id = 7` and `WHERE id = 8` are one
// statement (one span name, one row in "compare slow with typical").

/**
 * Span names are cut here: long enough for a SELECT's column list and its FROM, short enough that
 * a generated 50-column INSERT does not make every span heavy.
 */
export const MAX_STATEMENT_NAME = 200;

const literal = new RegExp(
  [
    String.raw`[eEbBxXnN]?'(?:[^']|'')*(?:'|$)`, // strings (E'', B'', X'', N''), unterminated when cut by the capture
    String.raw`\$([A-Za-z_][A-Za-z_0-9]*)?\$[\s\S]*?(?:\$\1\$|$)`, // PostgreSQL dollar quoting
    String.raw`\b0x[0-9a-fA-F]+\b`, // MySQL hex
    String.raw`(?<![\w$.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\b`, // numbers, not digits of names or $1 placeholders
  ].join('|'),
  'g',
);
const mysqlDoubleQuoted = /"(?:[^"\\]|\\.)*(?:"|$)/g;
const comment = /\/\*[\s\S]*?(?:\*\/|$)|--[^\n]*/g;
const inList = /\bIN\s*\(\s*\?(?:\s*,\s*\?)*\s*\)/gi;

/** `dialect` mysql: "x" is a string there, an identifier in PostgreSQL. */
export function normaliseSql(text: string, dialect: 'postgresql' | 'mysql' = 'postgresql'): string {
  let s = text.replace(comment, ' ');
  if (dialect === 'mysql') s = s.replace(mysqlDoubleQuoted, '?');
  s = s.replace(literal, '?');
  s = s.replace(inList, 'IN (?)');
  return s.replace(/\s+/g, ' ').trim();
}

/** The statement as a span name: normalised, cut at MAX_STATEMENT_NAME characters. */
export function statementName(normalised: string): string {
  return normalised.length > MAX_STATEMENT_NAME ? normalised.slice(0, MAX_STATEMENT_NAME) : normalised;
}

/** db.operation.name: the statement's first keyword (SELECT, INSERT, WITH, BEGIN…). */
export function operationName(normalised: string): string {
  return /^[A-Za-z]+/.exec(normalised)?.[0]?.toUpperCase() ?? '';
}

/** The attributes and name every SQL request span carries. */
export function sqlRequest(text: string, system: 'postgresql' | 'mysql'): { name: string; attributes: Record<string, string> } {
  const normalised = normaliseSql(text, system);
  const attributes: Record<string, string> = { 'db.system.name': system, 'db.query.text': normalised };
  const operation = operationName(normalised);
  if (operation) attributes['db.operation.name'] = operation;
  return { name: statementName(normalised) || system, attributes };
}
