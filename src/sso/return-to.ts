// Where a sign-in lands afterwards: only a path of this service's own origin (no open
// redirect: OWASP "Unvalidated Redirects"). Anything else falls back to /me.
export const DEFAULT_RETURN_TO = '/me';
const MAX_RETURN_TO = 2000;

export function safeReturnTo(value: unknown, publicUrl: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_RETURN_TO) {
    return DEFAULT_RETURN_TO;
  }
  // A path, not a scheme-relative URL (//evil), nor one a browser reads as one (/\evil),
  // nor anything with control characters (a tab or newline inside //).
  const controlOrBackslash = [...value].some((c) => c < ' ' || c === '\x7f' || c === '\\');
  if (!value.startsWith('/') || value.startsWith('//') || controlOrBackslash) {
    return DEFAULT_RETURN_TO;
  }
  const base = new URL(publicUrl);
  let target: URL;
  try {
    target = new URL(value, base);
  } catch {
    return DEFAULT_RETURN_TO;
  }
  if (target.origin !== base.origin) return DEFAULT_RETURN_TO;
  return `${target.pathname}${target.search}${target.hash}`;
}
