// A webhook receiver for tests (issue 14): a real HTTP server on 127.0.0.1 that records
// each request and answers the statuses a test queued for its path (then 200), and the
// Standard Webhooks verification written out from the specification ("Verifying").
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface Receiver {
  /** http://127.0.0.1:<port> */
  base: string;
  received: Received[];
  /** Statuses to answer, per path, in turn; then 200. */
  answers: Map<string, number[]>;
  /** What reached a path. */
  at(path: string): Received[];
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const answers = new Map<string, number[]>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({
        path,
        headers: req.headers as Record<string, string>,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      // A little latency, so that concurrent workers overlap on real PostgreSQL.
      setTimeout(() => res.writeHead(answers.get(path)?.shift() ?? 200).end('ok'), 5);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    answers,
    at: (path) => received.filter((r) => r.path === path),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The Standard Webhooks verification, written from the specification ("Verifying"). */
export function verifyAsSpecified(secret: string, r: Received, nowSeconds: number): boolean {
  const id = r.headers['webhook-id']!;
  const timestamp = r.headers['webhook-timestamp']!;
  if (Math.abs(nowSeconds - Number(timestamp)) > 300) return false;
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${r.body}`).digest();
  return r.headers['webhook-signature']!.split(' ').some((s) => {
    const [version, signature] = s.split(',');
    const given = Buffer.from(signature ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}
