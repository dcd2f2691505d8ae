// Text that cannot be stored or hashed. PostgreSQL's text and jsonb refuse U+0000, and a
// lone UTF-16 surrogate has no UTF-8 form (RFC 8785, the canonical JSON the audit chain
// hashes, refuses it too). Such strings are refused where they enter (issue 12: a lone
// surrogate in a SCIM create ended the process; NUL gave 500 everywhere).

export type TextDefect = 'NUL' | 'lone surrogate';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A string with its NULs and lone surrogates replaced by U+FFFD, to name it in an error. */
const printable = (s: string) =>
  Array.from(s, (c) => (c === '\u0000' || LONE_SURROGATE.test(c) ? '\uFFFD' : c)).join('');

export function textDefect(s: string): TextDefect | undefined {
  if (s.includes('\u0000')) return 'NUL';
  if (LONE_SURROGATE.test(s)) return 'lone surrogate';
  return undefined;
}

/**
 * The first string (object key or value) in a parsed JSON value that cannot be stored,
 * with its path (`name.givenName`, `emails.0.value`). Iterative: a deeply nested body
 * must not exhaust the stack.
 */
export function findTextDefect(
  value: unknown,
  root = '',
): { path: string; defect: TextDefect } | undefined {
  const stack: Array<[unknown, string]> = [[value, root]];
  const join = (path: string, key: string) => (path ? `${path}.${key}` : key);
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      const defect = textDefect(v);
      if (defect) return { path, defect };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], join(path, String(i))]);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, inner] of Object.entries(v)) {
        const defect = textDefect(k);
        // The key itself is the defect: name it by its well-formed version.
        if (defect) return { path: join(path, printable(k)), defect };
        stack.push([inner, join(path, k)]);
      }
    }
  }
  return undefined;
}
