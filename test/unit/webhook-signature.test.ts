// Webhook signatures and secrets (issue 14; the Standard Webhooks specification,
// "Signature scheme"): the specification's own example signs as it says, our signatures
// agree with its reference library, and a sealed secret opens only for its endpoint.
import { randomBytes, randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import {
  newWebhookSecret,
  openWebhookSecret,
  sealWebhookSecret,
  webhookSignature,
} from '../../src/notifications/webhook-secret.js';

test("the specification's example: secret, id, timestamp and body give its signature", () => {
  expect(
    webhookSignature(
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      'msg_p5jXN8AQM9LWM0D4loKWxJek',
      1614265330,
      '{"test": 2432232314}',
    ),
  ).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
});

test('a new secret is whsec_ and 32 random bytes, and the reference library signs as we do', () => {
  const secret = newWebhookSecret();
  expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
  expect(newWebhookSecret()).not.toBe(secret);
  const id = randomUUID();
  const at = new Date(Math.floor(Date.now() / 1000) * 1000);
  const body = JSON.stringify({ type: 'seat.granted', timestamp: at.toISOString(), data: {} });
  const ours = webhookSignature(secret, id, at.getTime() / 1000, body);
  expect(new Webhook(secret).sign(id, at, body)).toBe(ours);
  // …and one changed byte of the body no longer verifies.
  const headers = {
    'webhook-id': id,
    'webhook-timestamp': String(at.getTime() / 1000),
    'webhook-signature': ours,
  };
  expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  expect(() => new Webhook(secret).verify(body.replace('granted', 'grantee'), headers)).toThrow();
});

test('a sealed secret opens only for the tenant and endpoint it was sealed for', async () => {
  const key = new Uint8Array(randomBytes(32));
  const [tenant, endpoint, other] = [randomUUID(), randomUUID(), randomUUID()];
  const secret = newWebhookSecret();
  const sealed = await sealWebhookSecret(key, tenant, endpoint, secret);
  expect(sealed).not.toContain(secret.slice(6));
  expect(await openWebhookSecret(key, tenant, endpoint, sealed)).toBe(secret);
  await expect(openWebhookSecret(key, tenant, other, sealed)).rejects.toMatchObject({
    code: 'webhook_secret_misplaced',
  });
  await expect(
    openWebhookSecret(new Uint8Array(randomBytes(32)), tenant, endpoint, sealed),
  ).rejects.toThrow();
});
