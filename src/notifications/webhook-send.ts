// One webhook request: a POST of the signed body, no redirects followed (a 3xx is a
// failure, as the Standard Webhooks specification advises), a bounded wait, and the
// receiver's answer reduced to its status. With private URLs refused, the connection
// goes only to an address checked at connect time (webhook-url.ts, guardedLookup).
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { guardedLookup, isPrivateAddress } from './webhook-url.js';

/** How long a receiver has to answer (the specification suggests a few seconds). */
export const WEBHOOK_TIMEOUT_MS = 10_000;

export interface SendResult {
  status: number | null;
  error: string | null;
}

export function sendWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  opts: { allowPrivateUrls: boolean; timeoutMs?: number },
): Promise<SendResult> {
  const target = new URL(url);
  const host = target.hostname.replace(/^\[|\]$/g, '');
  if (!opts.allowPrivateUrls) {
    if (target.protocol !== 'https:')
      return Promise.resolve({ status: null, error: 'refused: not https' });
    // An address in the URL is connected to without a lookup: check it here.
    if (isIP(host) && isPrivateAddress(host))
      return Promise.resolve({ status: null, error: `refused: ${host} is a private address` });
  }
  const client = target.protocol === 'https:' ? https : http;
  return new Promise<SendResult>((resolve) => {
    const req = client.request(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        // A connection of its own each time: the address is looked up (and checked) anew.
        agent: false,
        signal: AbortSignal.timeout(opts.timeoutMs ?? WEBHOOK_TIMEOUT_MS),
        ...(opts.allowPrivateUrls ? {} : { lookup: guardedLookup }),
      },
      (res) => {
        // Only the status matters; the body is read and dropped so the socket can close.
        res.resume();
        res.on('error', () => undefined);
        resolve({ status: res.statusCode ?? null, error: null });
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      const error =
        err.name === 'AbortError' || err.name === 'TimeoutError'
          ? `no answer within ${opts.timeoutMs ?? WEBHOOK_TIMEOUT_MS} ms`
          : err.message;
      resolve({ status: null, error: error.slice(0, 500) });
    });
    req.end(body);
  });
}
