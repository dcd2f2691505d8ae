// Cookies for the browser doors (issue 15): reading the Cookie header (RFC 6265 §5.4),
// and the attributes every cookie the service sets carries: HttpOnly, SameSite=Lax, and
// Secure when the request came over HTTPS (req.secure honours TRUST_PROXY, so behind a
// TLS-terminating proxy named there, X-Forwarded-Proto decides).
import type { CookieOptions, Request } from 'express';

/** The value of one cookie, or undefined. The first one wins when a name repeats. */
export function cookieOf(req: Request, name: string): string | undefined {
  const header = req.get('cookie');
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2)
      value = value.slice(1, -1);
    try {
      return decodeURIComponent(value);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export function cookieOptions(
  req: Request,
  opts: { path?: string; maxAgeMs?: number } = {},
): CookieOptions {
  return {
    httpOnly: true,
    sameSite: 'lax',
    secure: req.secure,
    path: opts.path ?? '/',
    ...(opts.maxAgeMs !== undefined ? { maxAge: opts.maxAgeMs } : {}),
  };
}
