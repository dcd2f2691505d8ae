// Server-side request forgery through webhooks (issue 14: "Private and loopback URLs are
// refused in production"): with WEBHOOK_ALLOW_PRIVATE_URLS off, an endpoint must be https
// and every address its host resolves to public — checked at registration (400 naming the
// reason, nothing written) and again when the request is made, on the addresses the
// connection uses, so a name that resolves elsewhere later (DNS rebinding) reaches nothing.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createWebhook,
  deliverDueWebhooks,
  isPrivateAddress,
  MAX_WEBHOOK_ENDPOINTS,
  publishEvents,
} from '../../src/notifications/index.js';
import { sendWebhook } from '../../src/notifications/webhook-send.js';
import { withTenant } from '../../src/db/tenant-scope.js';
import { fixedClock } from '../../src/shared/clock.js';
import type { CreatedTenant } from '../../src/tenancy/index.js';
import { apiClient, type ApiClient } from '../support/api.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant, testActor } from '../support/fixtures.js';

let db: TestDb;
let tenant: CreatedTenant;
let strict: ApiClient;
let lenient: ApiClient;
const clock = fixedClock('2026-12-08T00:00:00.000Z');
const secretKey = new Uint8Array(randomBytes(32));

beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'SSRF');
  strict = apiClient(
    testApp(db.knex, undefined, { clock, webhooks: { secretKey, allowPrivateUrls: false } }),
    tenant.apiToken,
  );
  lenient = apiClient(
    testApp(db.knex, undefined, { clock, webhooks: { secretKey, allowPrivateUrls: true } }),
    tenant.apiToken,
  );
});
afterAll(() => db.close());

test.each([
  '127.0.0.1',
  '127.8.9.10',
  '0.0.0.0',
  '10.1.2.3',
  '172.16.0.1',
  '172.31.255.255',
  '192.168.1.1',
  '169.254.169.254',
  '100.64.0.1',
  '224.0.0.1',
  '255.255.255.255',
  '::',
  '::1',
  'fe80::1',
  'fe80::1%eth0',
  'fc00::1',
  'fd12:3456::1',
  'ff02::1',
  '::ffff:127.0.0.1',
  '::ffff:7f00:1',
  '::ffff:a9fe:a9fe',
  '64:ff9b::a9fe:a9fe',
  '2002:7f00:1::1',
  '::127.0.0.1',
  'not-an-address',
])('%s is private, loopback, link-local or special', (address) => {
  expect(isPrivateAddress(address)).toBe(true);
});

test.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
  '%s is public',
  (address) => {
    expect(isPrivateAddress(address)).toBe(false);
  },
);

test.each([
  ['http://hooks.example.com/', 'scheme'],
  ['ftp://hooks.example.com/', 'scheme'],
  ['hooks.example.com/x', 'not_a_url'],
  ['https://user:pw@hooks.example.com/', 'credentials'],
  ['https://127.0.0.1/', 'private_address'],
  ['https://[::1]:8443/', 'private_address'],
  ['https://[::ffff:127.0.0.1]/', 'private_address'],
  ['https://169.254.169.254/latest/meta-data/', 'private_address'],
  ['https://10.0.0.1/', 'private_address'],
  ['https://0x7f000001/', 'private_address'],
  ['https://2130706433/', 'private_address'],
  ['https://localhost/', 'private_address'],
])(
  'with private URLs refused, POST /webhooks {url: %s} is 400 (%s) and writes nothing',
  async (url, reason) => {
    const res = await strict.post('/webhooks', { url, events: ['seat.granted'] }).expect(400);
    expect(res.type).toBe('application/problem+json');
    expect(res.body).toMatchObject({ code: 'webhook_url_refused', reason });
    expect((await strict.get('/webhooks').expect(200)).body.total).toBe(0);
  },
);

test('a host name is checked on every address it resolves to: one private address refuses it', async () => {
  const ctx = {
    knex: db.knex,
    tenantId: tenant.id,
    actor: testActor,
    clock,
    settings: {
      secretKey,
      allowPrivateUrls: false,
      lookup: async () => [
        { address: '93.184.216.34', family: 4 },
        { address: '10.0.0.5', family: 4 },
      ],
    },
  };
  await expect(
    createWebhook(ctx, { url: 'https://rebind.example.com/', events: ['seat.granted'] }),
  ).rejects.toMatchObject({ code: 'webhook_url_refused', detail: { reason: 'private_address' } });
  const ok = await createWebhook(
    {
      ...ctx,
      settings: { ...ctx.settings, lookup: async () => [{ address: '93.184.216.34', family: 4 }] },
    },
    { url: 'https://public.example.com/hook', events: ['seat.granted'] },
  );
  expect(ok.url).toBe('https://public.example.com/hook');
  await strict.delete(`/webhooks/${ok.id}`).expect(204);
});

test('PATCH to a private URL is refused and the endpoint keeps its URL', async () => {
  const made = (
    await lenient
      .post('/webhooks', { url: 'https://127.0.0.1:8443/ok', events: ['seat.granted'] })
      .expect(201)
  ).body;
  const res = await strict.patch(`/webhooks/${made.id}`, { url: 'https://192.168.0.10/' });
  expect(res.status).toBe(400);
  expect(res.body.reason).toBe('private_address');
  expect((await strict.get(`/webhooks/${made.id}`).expect(200)).body.url).toBe(made.url);
  await strict.delete(`/webhooks/${made.id}`).expect(204);
});

test('an unknown event type is 400 naming it; no events is 400; unknown fields are 400', async () => {
  const res = await lenient
    .post('/webhooks', { url: 'https://127.0.0.1/', events: ['seat.granted', 'seat.stolen'] })
    .expect(400);
  expect(JSON.stringify(res.body.errors)).toContain('unknown event type \\"seat.stolen\\"');
  await lenient.post('/webhooks', { url: 'https://127.0.0.1/', events: [] }).expect(400);
  await lenient
    .post('/webhooks', { url: 'https://127.0.0.1/', events: ['seat.granted'], secret: 'x' })
    .expect(400);
  expect((await lenient.get('/webhooks').expect(200)).body.total).toBe(0);
});

test(`a tenant has at most ${MAX_WEBHOOK_ENDPOINTS} endpoints (409 past it)`, async () => {
  const ids: string[] = [];
  for (let i = 0; i < MAX_WEBHOOK_ENDPOINTS; i++)
    ids.push(
      (
        await lenient
          .post('/webhooks', { url: `https://127.0.0.1/${i}`, events: ['seat.granted'] })
          .expect(201)
      ).body.id,
    );
  await lenient
    .post('/webhooks', { url: 'https://127.0.0.1/one-more', events: ['seat.granted'] })
    .expect(409);
  for (const id of ids) await lenient.delete(`/webhooks/${id}`).expect(204);
});

describe('at delivery time', () => {
  let receiver: http.Server;
  let port: number;
  let hits = 0;
  beforeAll(async () => {
    receiver = http.createServer((_req, res) => {
      hits += 1;
      res.end('ok');
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    port = (receiver.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((resolve) => receiver.close(resolve)));

  test('an endpoint registered while allowed is not reached once private URLs are refused; the refusal is logged', async () => {
    const hook = (
      await lenient
        .post('/webhooks', { url: `http://127.0.0.1:${port}/`, events: ['license.expired'] })
        .expect(201)
    ).body;
    await withTenant(db.knex, tenant.id, (trx) =>
      publishEvents(
        trx,
        tenant.id,
        [{ type: 'license.expired', data: { licenseId: 'l' }, dedupeKey: 'ssrf' }],
        clock.now(),
      ),
    );
    await deliverDueWebhooks(db.knex, { clock, secretKey, allowPrivateUrls: false });
    expect(hits).toBe(0);
    const log = (await strict.get(`/webhooks/${hook.id}/deliveries`).expect(200)).body;
    expect(log.items).toEqual([
      expect.objectContaining({ attempt: 1, status: null, error: 'refused: not https' }),
    ]);
    await strict.delete(`/webhooks/${hook.id}`).expect(204);
  });

  test('a name resolving to a loopback address when connecting is refused (DNS rebinding)', async () => {
    // localhost resolves from the hosts file: a public-looking check earlier proves
    // nothing; the connection's own lookup refuses it.
    const refused = await sendWebhook(`https://localhost:${port}/`, {}, '{}', {
      allowPrivateUrls: false,
    });
    expect(refused).toEqual({ status: null, error: expect.stringMatching(/^refused: localhost/) });
    const literal = await sendWebhook(`https://[::ffff:127.0.0.1]:${port}/`, {}, '{}', {
      allowPrivateUrls: false,
    });
    expect(literal.error).toMatch(/^refused:/);
    expect(hits).toBe(0);
    // Allowed (not production), the same receiver is reached.
    const allowed = await sendWebhook(`http://localhost:${port}/`, {}, '{}', {
      allowPrivateUrls: true,
    });
    expect(allowed).toEqual({ status: 200, error: null });
    expect(hits).toBe(1);
  });
});
