// sortBy (RFC 7644 §3.4.2.3) → an ORDER BY expression. Only single-valued attributes:
// sorting by a multi-valued one (by its primary value) is not supported. Strings sort by
// code point (COLLATE "C"), folded to lower case when caseExact is false, the same order
// as gt/lt in filters; the caller adds ASC/DESC, NULLS LAST and a tie-breaker.
import { AppError } from '../../shared/errors.js';
import type { ScalarAttr, ScimResourceKind } from './attribute-types.js';
import { resolvePath } from './attributes.js';
import { echo, invalidSort } from './errors.js';
import { MAX_FILTER_LENGTH } from './parse.js';
import { newContext, valueOf } from './sql.js';

function sortable(attrPath: string, kind: ScimResourceKind): ScalarAttr {
  try {
    const { attr } = resolvePath(kind, attrPath);
    if (attr.shape === 'scalar') return attr;
    if (attr.shape === 'complex') {
      // `manager` sorts by manager.value, like `manager eq "x"` compares it.
      const value = attr.subs.find((s) => s.json[s.json.length - 1] === 'value');
      if (value) return value;
    }
  } catch (e) {
    if (e instanceof AppError) throw invalidSort(e.message);
    throw e;
  }
  throw invalidSort(`cannot sort by ${echo(attrPath)}: not a single-valued attribute`);
}

/** SQL expression (no bindings) to ORDER BY for `sortBy=attrPath`. */
export function sortExpression(attrPath: string, kind: ScimResourceKind, alias: string): string {
  if (
    typeof attrPath !== 'string' ||
    attrPath.length === 0 ||
    attrPath.length > MAX_FILTER_LENGTH
  ) {
    throw invalidSort('sortBy must name an attribute');
  }
  const attr = sortable(attrPath.trim(), kind);
  const v = valueOf(attr, newContext(alias));
  if (v.type !== 'text') return v.sql;
  return attr.caseExact ? `${v.sql} COLLATE "C"` : `${v.folded ?? `lower(${v.sql})`} COLLATE "C"`;
}
