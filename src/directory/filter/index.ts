// SCIM filters (RFC 7644 §3.4.2.2) for the directory tables.
//
//   parse.ts       text → FilterNode (grammar via scim2-parse-filter, with its defects fixed)
//   attributes.ts  attrPath → attribute, type and storage (scimmy's schemas)
//   bind.ts        FilterNode → Bound: checked, and reduced to primitives (semantics here)
//   sql.ts         Bound → SQL fragment        evaluate.ts  Bound → boolean (reference)
//   sort.ts        sortBy → ORDER BY expression
import type { ScimResourceKind } from './attribute-types.js';
import { bindFilter } from './bind.js';
import { parseFilter } from './parse.js';
import { boundToSql, type SqlFragment } from './sql.js';

export type { ScimResourceKind } from './attribute-types.js';
export type { CompareOp, CompValue, FilterNode } from './parse.js';
export type { SqlFragment } from './sql.js';
export { MAX_FILTER_DEPTH, MAX_FILTER_LENGTH, parseFilter, parsePatchPath } from './parse.js';
export type { PatchPath } from './parse.js';
export { sortExpression } from './sort.js';
export { matches, matchesElement } from './evaluate.js';

/**
 * Parse, validate and translate a filter into a boolean SQL expression over the resource
 * table aliased `alias` (directory_users for User, directory_groups for Group). Tenant
 * scoping of the outer query is the caller's; membership subqueries are tied to
 * `${alias}.tenant_id`. Throws AppError('invalid_filter', …, {status: 400}).
 */
export function filterToSql(filter: string, kind: ScimResourceKind, alias: string): SqlFragment {
  return nodeToSql(parseFilter(filter), kind, alias);
}

/** Translate an already parsed filter (e.g. one kept from a PATCH path). */
export function nodeToSql(
  node: ReturnType<typeof parseFilter>,
  kind: ScimResourceKind,
  alias: string,
): SqlFragment {
  return boundToSql(bindFilter(node, kind), alias);
}
