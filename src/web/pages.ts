// The few HTML pages of the browser door: sign-in, a refused sign-in, the signed-in
// user's page. Every value is escaped; no script; forms post to this origin only.
const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
export const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ESCAPES[c]!);

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Seatkeeper</title></head>
<body>
<main>
<h1>${esc(title)}</h1>
${body}
</main>
</body>
</html>
`;
}

export function refusedPage(message: string): string {
  return page(
    'Sign-in refused',
    `<p role="alert">${esc(message)}</p>\n<p><a href="/login">Try signing in again</a></p>`,
  );
}

export function loginPage(opts: { message?: string; email?: string; returnTo: string }): string {
  return page(
    'Sign in',
    `${opts.message ? `<p role="alert">${esc(opts.message)}</p>` : ''}
<form method="get" action="/login">
<label for="email">Work email</label>
<input id="email" name="email" type="email" autocomplete="email" required value="${esc(opts.email ?? '')}">
<input type="hidden" name="returnTo" value="${esc(opts.returnTo)}">
<button type="submit">Continue</button>
</form>`,
  );
}

export function chooserPage(links: Array<{ href: string; label: string }>): string {
  return page(
    'Choose how to sign in',
    `<ul>${links.map((l) => `<li><a href="${esc(l.href)}">${esc(l.label)}</a></li>`).join('')}</ul>`,
  );
}

export interface MeView {
  userName: string;
  isAdmin: boolean;
  csrfToken: string;
  seats: Array<{ license: string | null; state: string; explanation: string }>;
}

export function mePage(v: MeView): string {
  const seats = v.seats.length
    ? `<table><thead><tr><th scope="col">Licence</th><th scope="col">State</th><th scope="col">Why</th></tr></thead><tbody>${v.seats
        .map(
          (s) =>
            `<tr><td>${esc(s.license ?? '(deleted)')}</td><td>${esc(s.state)}</td><td>${esc(s.explanation)}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '<p>You hold no seats.</p>';
  return page(
    'Your seats',
    `<p>Signed in as <strong>${esc(v.userName)}</strong>${v.isAdmin ? ' (administrator)' : ''}.</p>
${seats}
<form method="post" action="/logout">
<input type="hidden" name="csrf" value="${esc(v.csrfToken)}">
<button type="submit">Sign out</button>
</form>`,
  );
}
