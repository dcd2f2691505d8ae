// A minimal browser for sign-in flows over real HTTP: a cookie jar per host (RFC 6265:
// name, expiry and deletion; paths are ignored, every cookie of a host is sent) and
// redirects followed one at a time so a test can look at each hop.
export interface Hop {
  url: string;
  status: number;
  location: string | null;
  body: string;
  contentType: string | null;
  /** The Set-Cookie lines of the answer, as sent. */
  setCookies: string[];
}

export class Browser {
  private readonly jar = new Map<string, Map<string, string>>();

  cookies(url: string): Map<string, string> {
    const host = new URL(url).host;
    if (!this.jar.has(host)) this.jar.set(host, new Map());
    return this.jar.get(host)!;
  }

  setCookie(url: string, name: string, value: string) {
    this.cookies(url).set(name, value);
  }

  async request(
    url: string,
    init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<Hop> {
    const jar = this.cookies(url);
    const headers: Record<string, string> = { ...init.headers };
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(url, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      headers,
      body,
      redirect: 'manual',
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const gone = attrs.some((a) => {
        const [k, v] = a.split('=').map((x) => x.trim());
        if (k?.toLowerCase() === 'max-age') return Number(v) <= 0;
        if (k?.toLowerCase() === 'expires') return new Date(v!).getTime() <= Date.now();
        return false;
      });
      if (gone || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    const location = res.headers.get('location');
    return {
      url,
      status: res.status,
      location: location ? new URL(location, url).href : null,
      body: await res.text(),
      contentType: res.headers.get('content-type'),
      setCookies: res.headers.getSetCookie(),
    };
  }

  /** Follow redirects from `url` until a page that is not one; every hop, in order. */
  async follow(
    url: string,
    opts: { form?: Record<string, string>; until?: (hop: Hop) => boolean; max?: number } = {},
  ): Promise<Hop[]> {
    const hops: Hop[] = [];
    let hop = await this.request(url, opts.form ? { form: opts.form } : {});
    hops.push(hop);
    while (hop.location && !(opts.until?.(hop) ?? false) && hops.length < (opts.max ?? 20)) {
      hop = await this.request(hop.location);
      hops.push(hop);
    }
    return hops;
  }
}
