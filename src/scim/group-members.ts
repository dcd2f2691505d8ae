// Group PATCH operations that touch `members` take their own path: they become
// set-based SQL over the membership table instead of a rewrite of the whole resource, so
// adding or removing thousands of members is one statement and we know exactly which
// members changed. The shapes come from RFC 7644 §3.5.2 and what IdPs send:
// `add members [...]`, `remove members` (all), `remove members` with a value array
// (those only, Entra), `remove members[value eq "id"]` (Okta, with `or`), `replace
// members [...]` and `replace members []`, and path-less `{members: [...]}`.
import type { MemberStep } from '../directory/index.js';
import { scimError } from './errors.js';
import type { PatchOperation } from './patch-operation.js';
import { parseMembers } from './schemas.js';

export interface SplitPatch {
  attributeOps: PatchOperation[];
  memberSteps: MemberStep[];
}

const ids = (value: unknown) => parseMembers(value).map((m) => m.value);

function valueFilterIds(filter: string): string[] {
  const parts = filter.split(/\s+or\s+/i);
  return parts.map((p) => {
    const m = /^\s*\(?\s*value\s+eq\s+"((?:[^"\\]|\\.)*)"\s*\)?\s*$/i.exec(p);
    if (!m)
      throw scimError(
        400,
        'invalidFilter',
        `unsupported members filter: ${filter} (use value eq "id", joined by or)`,
      );
    return m[1]!;
  });
}

export function splitGroupPatch(ops: PatchOperation[]): SplitPatch {
  const attributeOps: PatchOperation[] = [];
  const memberSteps: MemberStep[] = [];
  for (const op of ops) {
    const path = op.path;
    if (path === undefined) {
      const value = op.value as Record<string, unknown> | null;
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw scimError(400, 'invalidValue', `${op.op} without a path needs an object value`);
      }
      const rest: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        if (k.toLowerCase() === 'members')
          memberSteps.push({
            kind: op.op === 'replace' ? 'set' : 'add',
            ids: v === null ? [] : ids(v),
          });
        else rest[k] = v;
      }
      if (Object.keys(rest).length) attributeOps.push({ ...op, value: rest });
      continue;
    }
    if (/^members$/i.test(path)) {
      if (op.op === 'add') memberSteps.push({ kind: 'add', ids: ids(op.value) });
      else if (op.op === 'replace')
        memberSteps.push({ kind: 'set', ids: op.value === null ? [] : ids(op.value) });
      else
        memberSteps.push({
          kind: 'remove',
          ids: op.value === undefined || op.value === null ? 'all' : ids(op.value),
        });
      continue;
    }
    const filtered = /^members\[(.*)\]$/is.exec(path);
    if (filtered) {
      if (op.op !== 'remove')
        throw scimError(
          400,
          'invalidPath',
          `${op.op} on ${path} is not supported: add or remove members instead`,
        );
      memberSteps.push({ kind: 'remove', ids: valueFilterIds(filtered[1]!) });
      continue;
    }
    if (/^members[.[]/i.test(path))
      throw scimError(400, 'invalidPath', `${path}: member sub-attributes cannot be patched`);
    attributeOps.push(op);
  }
  return { attributeOps, memberSteps };
}
