// Selectors: `type{label="value",other!="x",pod=~"re.*",ns!~"kube-.*"}` ⇄ a list of matchers.

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
}

export interface ParsedSelector {
  /** Profile type prefix ('' = the server's default, cpu). */
  type: string;
  matchers: Matcher[];
}

export class SelectorSyntaxError extends Error {
  override name = 'SelectorSyntaxError';
}

/** Parses a selector; throws {@link SelectorSyntaxError} with the position of the problem. */
export function parseSelector(input: string): ParsedSelector {
  const s = input.trim();
  const m = /^([A-Za-z_][\w:.-]*)?\s*\{(.*)\}$/s.exec(s);
  if (!m) {
    if (/^[A-Za-z_][\w:.-]*$/.test(s)) return { type: s, matchers: [] };
    throw new SelectorSyntaxError(`a selector looks like {service="api"} or cpu{service="api"}`);
  }
  const type = m[1] ?? '';
  const body = m[2]!;
  const matchers: Matcher[] = [];
  let i = 0;
  const ws = (): void => {
    while (i < body.length && /\s/.test(body[i]!)) i++;
  };
  ws();
  while (i < body.length) {
    const nm = /^[A-Za-z_][\w.]*/.exec(body.slice(i));
    if (!nm) throw new SelectorSyntaxError(`expected a label name at "${body.slice(i, i + 12)}"`);
    i += nm[0].length;
    ws();
    const op = /^(=~|!~|!=|=)/.exec(body.slice(i));
    if (!op) throw new SelectorSyntaxError(`expected =, !=, =~ or !~ after ${nm[0]}`);
    i += op[0].length;
    ws();
    const q = body[i];
    if (q !== '"' && q !== "'" && q !== '`') throw new SelectorSyntaxError(`expected a quoted value after ${nm[0]}${op[0]}`);
    i++;
    let value = '';
    while (i < body.length && body[i] !== q) {
      if (body[i] === '\\' && i + 1 < body.length) {
        value += body[i + 1];
        i += 2;
      } else value += body[i++];
    }
    if (i >= body.length) throw new SelectorSyntaxError(`unterminated value for ${nm[0]}`);
    i++;
    matchers.push({ name: nm[0], op: op[0] as MatchOp, value });
    ws();
    if (body[i] === ',') {
      i++;
      ws();
    } else if (i < body.length) throw new SelectorSyntaxError(`expected , or } at "${body.slice(i, i + 12)}"`);
  }
  return { type, matchers };
}

function quote(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function formatSelector(sel: ParsedSelector): string {
  return `${sel.type}{${sel.matchers.map((m) => `${m.name}${m.op}${quote(m.value)}`).join(',')}}`;
}

/** Parses without throwing (null when invalid). */
export function tryParseSelector(input: string): ParsedSelector | null {
  try {
    return parseSelector(input);
  } catch {
    return null;
  }
}

/** `sel` with the equality matcher `name="value"` set (replacing others on `name`), or removed if value is ''. */
export function withMatcher(input: string, name: string, value: string, op: MatchOp = '='): string {
  const sel = tryParseSelector(input) ?? { type: '', matchers: [] };
  const matchers = sel.matchers.filter((m) => m.name !== name);
  if (value !== '') matchers.push({ name, op, value });
  // service first, then version, then the rest in the order given.
  const rank = (n: string): number => (n === 'service' ? 0 : n === 'version' ? 1 : 2);
  matchers.sort((a, b) => rank(a.name) - rank(b.name));
  return formatSelector({ type: sel.type, matchers });
}

/** The value of an equality matcher on `name`, if any. */
export function matcherValue(input: string, name: string): string | undefined {
  return tryParseSelector(input)?.matchers.find((m) => m.name === name && m.op === '=')?.value;
}
