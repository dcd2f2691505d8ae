// Webhooks in the running service (issue 14): `npm start` runs the delivery worker on its
// own (WEBHOOK_DELIVERY_INTERVAL_MS), so a rule granting a seat reaches a receiver with
// nobody calling a round, signed with the secret the API showed, and SIGTERM still stops
// the service cleanly with the worker in it. Always the embedded database, like
// service-embedded.test.ts; private URLs are allowed because NODE_ENV is test.
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import {
  startServiceProcess,
  tokensFromBanner,
  type ServiceProcess,
} from '../support/processes.js';
import { GROUP, SCIM, USER } from '../support/scim.js';

let dir: string;
let service: ServiceProcess | undefined;
let receiver: http.Server;
const received: Array<{ headers: Record<string, string>; body: string }> = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sk-hooks-'));
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers as Record<string, string>, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  if (service && service.child.exitCode === null) await service.stop('SIGKILL');
  await new Promise((resolve) => receiver.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

test('the service delivers a seat.granted webhook by itself, signed, and stops cleanly (issue 14)', async () => {
  service = await startServiceProcess(
    {
      DATA_DIR: path.join(dir, 'data'),
      DATABASE_URL: undefined,
      JOBS_ENABLED: 'false',
      WEBHOOK_DELIVERY_INTERVAL_MS: '200',
    },
    60_000,
  );
  const tokens = tokensFromBanner(service.stdout())!;
  const call = async (route: string, body: unknown, scim = false) => {
    const res = await fetch(`${service!.url}${route}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${scim ? tokens.scim : tokens.api}`,
        'Content-Type': scim ? SCIM : 'application/json',
      },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as Record<string, unknown> & { id: string };
  };
  const { port } = receiver.address() as AddressInfo;
  const hook = await call('/api/v1/webhooks', {
    url: `http://127.0.0.1:${port}/hook`,
    events: ['seat.granted'],
  });
  const user = await call(
    '/scim/v2/Users',
    { schemas: [USER], userName: 'hooked@example.com' },
    true,
  );
  const group = await call(
    '/scim/v2/Groups',
    { schemas: [GROUP], displayName: 'Hooked', members: [{ value: user.id }] },
    true,
  );
  const product = await call('/api/v1/products', { name: 'Hooked' });
  const licence = (await call('/api/v1/licenses', {
    productId: product.id,
    name: 'Hooked',
    type: 'subscription',
    quantity: 3,
  })) as unknown as { item: { id: string } };
  await call('/api/v1/rules', { licenseId: licence.item.id, groupId: group.id });

  const deadline = Date.now() + 15_000;
  while (received.length === 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 100));
  expect(received).toHaveLength(1);
  const payload = new Webhook(hook.secret as string).verify(
    received[0]!.body,
    received[0]!.headers,
  );
  expect(payload).toMatchObject({
    type: 'seat.granted',
    data: { userId: user.id, licenseId: licence.item.id },
  });
  const [code] = await service.stop('SIGTERM');
  expect(code).toBe(0);
});
