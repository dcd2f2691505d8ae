// Which URLs a webhook may be sent to (issue 14). With private URLs refused (production's
// default, WEBHOOK_ALLOW_PRIVATE_URLS=false) a tenant cannot point the service at what
// only it can reach (SSRF): the URL must be https, carry no credentials, and every address
// its host resolves to must be public. The check runs at registration (a clear 400) and
// again at delivery, on the very addresses the connection uses (guardedLookup), so a name
// that later resolves to 127.0.0.1 (DNS rebinding) is refused too.
import dns, { type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { AppError } from '../shared/errors.js';

export const MAX_WEBHOOK_URL_LENGTH = 2000;

export type UrlRefusal =
  'not_a_url' | 'scheme' | 'credentials' | 'private_address' | 'unresolvable';

export class WebhookUrlRefused extends AppError {
  constructor(
    readonly reason: UrlRefusal,
    message: string,
  ) {
    super('webhook_url_refused', message, { status: 400, detail: { reason } });
  }
}

// Not reachable on the public internet (IANA special-purpose registries, RFC 6890).
const special = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata services live here)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const)
  special.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 127], // unspecified and loopback
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const)
  special.addSubnet(net, bits, 'ipv6');

/** An IPv6 address's sixteen bytes (the address is valid: isIP said 6). */
function ipv6Bytes(address: string): number[] {
  let text = address.split('%')[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const part = (s: string | undefined) => (s ? s.split(':').map((h) => parseInt(h, 16)) : []);
  const left = part(head);
  const right = part(tail);
  const words =
    tail === undefined
      ? left
      : [...left, ...Array(8 - left.length - right.length).fill(0), ...right];
  return words.flatMap((w: number) => [w >> 8, w & 0xff]);
}

/** The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4), which is what is reached. */
function embeddedIpv4(address: string): string | null {
  const b = ipv6Bytes(address);
  const v4 = (o: number) => b.slice(o, o + 4).join('.');
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return v4(12); // ::ffff:a.b.c.d
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) return v4(12);
  if (b[0] === 0x20 && b[1] === 0x02) return v4(2); // 2002:aabb:ccdd::/48
  if (zeros(0, 12) && !(b[12] === 0 && b[13] === 0)) return v4(12); // ::a.b.c.d (deprecated)
  return null;
}

/** Whether an address is private, loopback, link-local, unique-local or otherwise special. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return special.check(address, 'ipv4');
  if (family !== 6) return true; // not an address at all: never trust it
  const v4 = embeddedIpv4(address);
  if (v4 !== null) return special.check(v4, 'ipv4');
  return special.check(address.split('%')[0]!, 'ipv6');
}

export type Lookup = (hostname: string) => Promise<LookupAddress[]>;
const systemLookup: Lookup = (hostname) => dns.promises.lookup(hostname, { all: true });

/** Check a URL against the policy; answers it parsed. Throws WebhookUrlRefused. */
export async function checkWebhookUrl(
  raw: string,
  policy: { allowPrivateUrls: boolean; lookup?: Lookup },
): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookUrlRefused('not_a_url', 'url is not an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new WebhookUrlRefused('scheme', 'url must be an http:// or https:// URL');
  if (url.username || url.password)
    throw new WebhookUrlRefused('credentials', 'url must not carry a user name or password');
  if (policy.allowPrivateUrls) return url;
  if (url.protocol !== 'https:')
    throw new WebhookUrlRefused(
      'scheme',
      'url must be https:// (WEBHOOK_ALLOW_PRIVATE_URLS is off)',
    );
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await (policy.lookup ?? systemLookup)(host)).map((a) => a.address);
    } catch {
      throw new WebhookUrlRefused('unresolvable', `url's host ${host} does not resolve`);
    }
  }
  const refused = addresses.find(isPrivateAddress);
  if (refused !== undefined || addresses.length === 0)
    throw new WebhookUrlRefused(
      'private_address',
      `url's host ${host} is a private, loopback or link-local address (${refused ?? 'none'}); WEBHOOK_ALLOW_PRIVATE_URLS is off`,
    );
  return url;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for http.request that refuses private addresses: the connection then goes
 * only to an address that was checked. (IP literals never reach a lookup: checked apart.)
 */
export function guardedLookup(
  hostname: string,
  options: LookupOptions,
  callback: LookupCallback,
): void {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const refused = addresses.find((a) => isPrivateAddress(a.address));
    if (refused || addresses.length === 0) {
      const e: NodeJS.ErrnoException = new Error(
        `refused: ${hostname} resolves to a private address (${refused?.address ?? 'none'})`,
      );
      e.code = 'EWEBHOOKPRIVATE';
      return callback(e, []);
    }
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}
