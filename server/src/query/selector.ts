// Selectors: `cpu{service="checkout",version!="v1",pod=~"checkout-.*",namespace!~"kube-.*"}`.
import { badRequest } from '../http/http-error.js';

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
}

export interface Selector {
  /** The profile type (pprof sample type name): `cpu` unless the selector names one. */
  profileType: string;
  /** Whether the selector named the profile type. */
  explicitType: boolean;
  matchers: Matcher[];
}

export const DEFAULT_PROFILE_TYPE = 'cpu';
const NAME = /[A-Za-z_][A-Za-z0-9_.]*/y;
const TYPE = /[A-Za-z_][A-Za-z0-9_.:-]*/y;

/** Parses a selector; a malformed one is a 400 that says where and what was expected. */
export function parseSelector(raw: string | undefined, param = 'query'): Selector {
  const s = raw ?? '';
  let i = 0;
  const fail = (what: string): never => {
    throw badRequest(`${param}: malformed selector ${JSON.stringify(s.slice(0, 200))}: ${what} at position ${i}`);
  };
  const skip = () => {
    while (i < s.length && /\s/.test(s[i]!)) i++;
  };
  skip();
  let profileType = DEFAULT_PROFILE_TYPE;
  let explicitType = false;
  TYPE.lastIndex = i;
  const t = TYPE.exec(s);
  if (t !== null) {
    profileType = pyroscopeTypeName(t[0]);
    explicitType = true;
    i = TYPE.lastIndex;
    skip();
    if (i >= s.length) return { profileType, explicitType, matchers: [] };
  }
  if (i >= s.length) return { profileType, explicitType, matchers: [] };
  if (s[i] !== '{') fail("expected '{'");
  i++;
  const matchers: Matcher[] = [];
  for (;;) {
    skip();
    if (s[i] === '}') {
      i++;
      break;
    }
    NAME.lastIndex = i;
    const n = NAME.exec(s);
    if (n === null) fail('expected a label name');
    i = NAME.lastIndex;
    skip();
    let op: MatchOp;
    if (s.startsWith('=~', i)) op = '=~';
    else if (s.startsWith('!~', i)) op = '!~';
    else if (s.startsWith('!=', i)) op = '!=';
    else if (s[i] === '=') op = '=';
    else return fail('expected one of = != =~ !~');
    i += op.length;
    skip();
    const value = readString();
    if (op === '=~' || op === '!~') {
      try {
        new RegExp(value);
      } catch (err) {
        throw badRequest(`${param}: regular expression ${JSON.stringify(value)} is not valid: ${(err as Error).message}`);
      }
    }
    matchers.push({ name: n![0], op, value });
    skip();
    if (s[i] === ',') {
      i++;
      continue;
    }
    if (s[i] === '}') {
      i++;
      break;
    }
    fail("expected ',' or '}'");
  }
  skip();
  if (i < s.length) fail('unexpected text after the selector');
  return { profileType, explicitType, matchers };

  function readString(): string {
    const quote = s[i];
    if (quote !== '"' && quote !== "'" && quote !== '`') return fail('expected a quoted value');
    i++;
    let out = '';
    while (i < s.length && s[i] !== quote) {
      let c = s[i]!;
      if (c === '\\' && quote !== '`') {
        i++;
        if (i >= s.length) break;
        const e = s[i]!;
        c = e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
      }
      out += c;
      i++;
    }
    if (s[i] !== quote) return fail('unterminated quoted value');
    i++;
    return out;
  }
}

/** Pyroscope's `process_cpu:cpu:nanoseconds:cpu:nanoseconds` ids name the sample type second. */
function pyroscopeTypeName(t: string): string {
  const parts = t.split(':');
  return parts.length >= 3 && parts[1] !== '' ? parts[1]! : t;
}

export function formatSelector(sel: Selector): string {
  const q = (v: string) => JSON.stringify(v);
  return `${sel.profileType}{${sel.matchers.map((m) => `${m.name}${m.op}${q(m.value)}`).join(',')}}`;
}
