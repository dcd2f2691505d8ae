// Filter text → FilterNode (RFC 7644 §3.4.2.2 grammar), kind-independent.
//
// scim2-parse-filter 0.2.10 does the grammar (precedence not > and > or, parentheses,
// valuePath). It gets the cases scimmy gets wrong right (shared/STACK.md, scimmy section),
// but it has defects of its own, worked around here:
//  1. String escapes: it doubles every backslash not before a quote, so "a\\b" came out
//     as a\\b, "\n" and "\u0041" were not decoded, and a string ending in an escaped
//     backslash ("a\\") was rejected.
//  2. Its string regex backtracks exponentially on an unterminated string containing
//     newlines (25 newlines: 0.1 s; each one more doubles it).
//  3. `A not (B)` is accepted and yields a malformed {op:'not', filters:[A, B]}.
//  4. `not` without parentheses (`not userName eq "x"`) is accepted; RFC: "not" "(" … ")".
//  5. `emails[type eq "work"].value eq "x"` is rewritten into two independent conditions
//     joined by `and` (losing "same element"); `x[...].` is accepted. The pre-scan reads
//     that shape itself as `emails[(type eq "work") and value eq "x"]` (issue 16).
//  6. A valuePath inside a valuePath is accepted; the RFC's valFilter cannot hold one.
//  7. A negative number followed by a space or ")" is not a token (`x gt -1 and …` fails);
//     1e999 parses to Infinity.
//  8. "$" is not a word character, so `manager.$ref` cannot be read at all.
//  9. 100,000 nested parentheses overflow its recursive descent.
// So a pre-scan reads the literal values itself (JSON strings and numbers, decoded and
// handed to the parser as numbered placeholder strings), counts bracket depth, and checks
// `not (`, `].` and "$" before the parser runs; the tree is then checked node by node.
// The pre-scan also takes what real IdPs send beyond the grammar (issue 16): a bare
// token as a comparison value is a string (`externalId eq jyoung`), and a sub-attribute
// after a valuePath is a condition on the same element.
import { parse as parseGrammar, type Filter } from 'scim2-parse-filter';
import { echo, invalidFilter } from './errors.js';

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type CompValue = string | number | boolean | null;

/** A syntactically valid filter; attribute names are checked later, per resource kind. */
export type FilterNode =
  | { op: 'and' | 'or'; filters: FilterNode[] }
  | { op: 'not'; filter: FilterNode }
  | { op: CompareOp; attrPath: string; compValue: CompValue }
  | { op: 'pr'; attrPath: string }
  | { op: '[]'; attrPath: string; valFilter: FilterNode };

/** Longer filters are refused before any parsing. */
export const MAX_FILTER_LENGTH = 4096;
/** Deepest nesting of "(" and "[" accepted (each `not` needs one, so it counts too). */
export const MAX_FILTER_DEPTH = 32;

const COMPARE_OPS = new Set<string>(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);
const PLACEHOLDER = /^#(\d+)$/;
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?$/;
const isSpace = (c: string) => /\s/.test(c);
const isDelimiter = (c: string) => isSpace(c) || '()[]"'.includes(c);

interface Scanned {
  text: string;
  /** The literal values, in order; the parser sees "#0", "#1", … in their place. */
  values: (string | number)[];
}

/** Read a JSON string literal starting at `start` (a quote); returns [value, end]. */
function readString(text: string, start: number): [string, number] {
  let i = start + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  if (i >= text.length) throw invalidFilter('unterminated string in filter');
  const literal = text.slice(start, i + 1);
  try {
    return [JSON.parse(literal) as string, i + 1];
  } catch {
    throw invalidFilter(`invalid string ${echo(literal)} in filter`);
  }
}

/** After a compare operator, the next token is its value. */
const LOGICAL = new Set(['and', 'or', 'not']);
const SUB_ATTR_NAME = /^[A-Za-z][A-Za-z0-9_-]*/;

function prescan(text: string): Scanned {
  const values: (string | number)[] = [];
  let out = '';
  let depth = 0;
  let i = 0;
  // What the last token was: an attribute path (a word that is no keyword), a compare
  // operator after one (so a value comes next), or anything else.
  let last: 'attr' | 'op' | 'other' = 'other';
  // Where each open "[" began its filter in `out`, and how many "x[f].sub op v" rewrites
  // wait for their value to close their "]" (see the "]" branch).
  const opened: number[] = [];
  let closeAfterValue = 0;
  const valueDone = () => {
    last = 'other';
    if (closeAfterValue > 0) {
      closeAfterValue -= 1;
      out += ']';
    }
  };
  const pushValue = (v: string | number) => {
    out += `"#${values.length}"`;
    values.push(v);
    valueDone();
  };
  while (i < text.length) {
    const c = text.charAt(i);
    if (c === '"') {
      const [value, end] = readString(text, i);
      pushValue(value);
      i = end;
      continue;
    }
    if (c === '(' || c === '[') {
      depth += 1;
      if (depth > MAX_FILTER_DEPTH) {
        throw invalidFilter(`filter is nested deeper than ${MAX_FILTER_DEPTH} levels`);
      }
      out += c;
      if (c === '[') opened.push(out.length);
      last = 'other';
      i += 1;
      continue;
    }
    if (c === ')' || c === ']') {
      depth -= 1; // unbalanced brackets are left to the parser to report
      const from = c === ']' ? opened.pop() : undefined;
      if (c === ']' && text[i + 1] === '.') {
        // Leniency (issue 16): `emails[type eq "work"].value eq "x"`, Entra ID's
        // documented matching shape, reads as `emails[(type eq "work") and value eq "x"]`:
        // one element must match both, as the valuePath means (a PATCH path's own
        // sub-attribute is parsed by parsePatchPath, not here).
        const sub = SUB_ATTR_NAME.exec(text.slice(i + 2));
        if (from === undefined || !sub)
          throw invalidFilter('expected a sub-attribute name after "[...]."');
        out = `${out.slice(0, from)}(${out.slice(from)}) and ${sub[0]}`;
        closeAfterValue += 1;
        last = 'attr';
        i += 2 + sub[0].length;
        continue;
      }
      out += c;
      last = 'other';
      i += 1;
      continue;
    }
    if (isSpace(c)) {
      out += c;
      i += 1;
      continue;
    }
    let end = i;
    while (end < text.length && !isDelimiter(text.charAt(end))) end += 1;
    const word = text.slice(i, end);
    i = end;
    if (last === 'op') {
      // The value of a comparison. JSON's literals and numbers keep their meaning; any
      // other bare token is a string (issue 16: Entra ID sends `externalId eq jyoung`,
      // and refusing it made Entra create duplicate users).
      if (JSON_NUMBER.test(word)) {
        const n = Number(word);
        if (!Number.isFinite(n)) throw invalidFilter(`number ${echo(word)} out of range in filter`);
        pushValue(n);
      } else if (word === 'true' || word === 'false' || word === 'null') {
        out += word;
        valueDone();
      } else pushValue(word);
      continue;
    }
    if (word.includes('$')) throw invalidFilter('"$ref" attributes cannot be used in a filter');
    if (JSON_NUMBER.test(word)) {
      const n = Number(word);
      if (!Number.isFinite(n)) throw invalidFilter(`number ${echo(word)} out of range in filter`);
      pushValue(n);
      continue;
    }
    const lower = word.toLowerCase();
    if (lower === 'not') {
      let next = end;
      while (next < text.length && isSpace(text.charAt(next))) next += 1;
      if (text[next] !== '(') throw invalidFilter('"not" must be followed by "(filter)"');
    }
    out += word;
    if (last === 'attr' && lower === 'pr') valueDone();
    else if (last === 'attr' && COMPARE_OPS.has(lower)) last = 'op';
    else last = LOGICAL.has(lower) ? 'other' : 'attr';
  }
  return { text: out, values };
}

/** The parser's message, in the client's terms (its placeholders replaced by the strings). */
function explain(message: string, values: (string | number)[]): string {
  if (message.includes('[(EOT)] is not json')) return 'a comparison value is missing';
  if (/\(EOT\)\s*$/.test(message)) return 'unexpected end of filter';
  const text = message.replace(/"#(\d+)"/g, (_, n: string) => JSON.stringify(values[Number(n)]));
  const value = /^\[(.*)\(\w+\)\] is not json$/.exec(text);
  if (value) {
    return `invalid comparison value ${echo(value[1] ?? '')}: expected a string, number, true, false or null`;
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function compValue(value: unknown, values: (string | number)[]): CompValue {
  if (typeof value === 'string') {
    const m = PLACEHOLDER.exec(value);
    const v = m ? values[Number(m[1])] : undefined;
    if (v === undefined) throw new Error(`filter parser returned an unexpected string ${value}`);
    return v;
  }
  // Numbers were all replaced by placeholders; one here would be a parser surprise.
  if (typeof value === 'boolean' || value === null) return value;
  throw invalidFilter('invalid comparison value in filter');
}

/** Check the parser's tree node by node and rebuild it as a FilterNode. */
function convert(f: Filter, values: (string | number)[], inValuePath: boolean): FilterNode {
  const node = f as unknown as Record<string, unknown>;
  const op = String(node.op);
  if (op === 'and' || op === 'or') {
    const parts = node.filters;
    if (!Array.isArray(parts) || parts.length < 2) throw invalidFilter(`misplaced "${op}"`);
    return { op, filters: parts.map((p: Filter) => convert(p, values, inValuePath)) };
  }
  if (op === 'not') {
    // Defect 3: `A not (B)` comes back as {op:'not', filters:[A, B]}.
    if (!node.filter || node.filters)
      throw invalidFilter('"not" must start a filter: "not (filter)"');
    return { op, filter: convert(node.filter as Filter, values, inValuePath) };
  }
  const attrPath = node.attrPath;
  if (typeof attrPath !== 'string') throw invalidFilter(`unexpected "${op}" in filter`);
  if (op === 'pr') return { op, attrPath };
  if (op === '[]') {
    if (inValuePath) throw invalidFilter('"[...]" cannot be nested inside "[...]"');
    return { op, attrPath, valFilter: convert(node.valFilter as Filter, values, true) };
  }
  if (COMPARE_OPS.has(op)) {
    return { op: op as CompareOp, attrPath, compValue: compValue(node.compValue, values) };
  }
  throw invalidFilter(`unknown operator ${echo(op)} in filter`);
}

/** Parse and syntax-check a filter; attribute names are not checked here. */
export function parseFilter(filter: string): FilterNode {
  if (typeof filter !== 'string') throw invalidFilter('filter must be a string');
  if (filter.length > MAX_FILTER_LENGTH) {
    throw invalidFilter(`filter is longer than ${MAX_FILTER_LENGTH} characters`);
  }
  if (filter.trim() === '') throw invalidFilter('empty filter');
  const scanned = prescan(filter);
  let tree: Filter;
  try {
    tree = parseGrammar(scanned.text);
  } catch (e) {
    throw invalidFilter(
      `invalid filter: ${explain(e instanceof Error ? e.message : String(e), scanned.values)}`,
    );
  }
  return convert(tree, scanned.values, false);
}

/** A PATCH path (RFC 7644 §3.5.2): attrPath, or attrPath "[" valFilter "]" ["." subAttr]. */
export interface PatchPath {
  attrPath: string;
  valFilter?: FilterNode;
  subAttr?: string;
}

const PATH_WORD = /^[A-Za-z0-9:._$-]+$/;

const SUB_ATTR = /^\.([A-Za-z][A-Za-z0-9_-]*|\$ref)$/;

/**
 * Split a PATCH path; the valFilter is parsed like a filter (its names are sub-attributes
 * of attrPath, checked when it is bound: see matchesElement). Names are not resolved here.
 */
export function parsePatchPath(path: string): PatchPath {
  if (typeof path !== 'string' || path.length > MAX_FILTER_LENGTH) {
    throw invalidFilter('invalid PATCH path');
  }
  const open = path.indexOf('[');
  const attrPath = open < 0 ? path : path.slice(0, open);
  if (!PATH_WORD.test(attrPath)) throw invalidFilter(`invalid PATCH path ${echo(path)}`);
  if (open < 0) return { attrPath };
  // The "]" that closes the filter is the first one outside a string literal (so a
  // nested "[...]" cannot get through: its own "]" would end the filter).
  let close = open + 1;
  while (close < path.length && path[close] !== ']') {
    close = path[close] === '"' ? readString(path, close)[1] : close + 1;
  }
  if (close >= path.length) throw invalidFilter(`unterminated "[" in PATCH path ${echo(path)}`);
  const sub = SUB_ATTR.exec(path.slice(close + 1));
  if (close + 1 < path.length && !sub) throw invalidFilter(`invalid PATCH path ${echo(path)}`);
  const valFilter = parseFilter(path.slice(open + 1, close));
  return sub?.[1] ? { attrPath, valFilter, subAttr: sub[1] } : { attrPath, valFilter };
}
