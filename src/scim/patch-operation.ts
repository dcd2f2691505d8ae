// One PATCH operation as parsePatchBody normalises it (RFC 7644 §3.5.2): its own module,
// so that patch.ts and the modules it uses (patch-value-path.ts, group-members.ts) all
// depend on it rather than on each other.
export interface PatchOperation {
  op: 'add' | 'remove' | 'replace';
  path?: string | undefined;
  value?: unknown;
}
