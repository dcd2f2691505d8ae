// Private signing keys at rest: AES-256-GCM (NIST SP 800-38D) under KEY_ENCRYPTION_KEY,
// with the tenant and kid as additional authenticated data.
import { randomBytes } from 'node:crypto';
import { open, parseKeyEncryptionKey, seal } from '../../src/keys/sealing.js';

const kek = new Uint8Array(randomBytes(32));
const T1 = '01930000-0000-7000-8000-000000000001';
const T2 = '01930000-0000-7000-8000-000000000002';

test('a sealed key opens with the same key, tenant and kid, and never holds the plaintext', () => {
  const sealed = seal(kek, T1, 'kid-1', '{"d":"secret"}');
  expect(sealed.includes(Buffer.from('secret'))).toBe(false);
  expect(open(kek, T1, 'kid-1', sealed)).toBe('{"d":"secret"}');
  // A fresh IV every time: the same key sealed twice differs.
  expect(seal(kek, T1, 'kid-1', '{"d":"secret"}').equals(sealed)).toBe(false);
});

test('a wrong key, another row (tenant or kid), a changed byte or a truncation refuse to open', () => {
  const sealed = seal(kek, T1, 'kid-1', '{"d":"secret"}');
  const refused = { code: 'signing_key_unreadable' };
  expect(() => open(new Uint8Array(randomBytes(32)), T1, 'kid-1', sealed)).toThrow(
    expect.objectContaining(refused),
  );
  expect(() => open(kek, T2, 'kid-1', sealed)).toThrow(expect.objectContaining(refused));
  expect(() => open(kek, T1, 'kid-2', sealed)).toThrow(expect.objectContaining(refused));
  for (const at of [0, 12, 28, sealed.length - 1]) {
    const changed = Buffer.from(sealed);
    changed[at] = changed[at]! ^ 1;
    expect(() => open(kek, T1, 'kid-1', changed)).toThrow(expect.objectContaining(refused));
  }
  expect(() => open(kek, T1, 'kid-1', sealed.subarray(0, 28))).toThrow(
    expect.objectContaining(refused),
  );
});

test('KEY_ENCRYPTION_KEY is exactly 32 bytes of base64', () => {
  expect(parseKeyEncryptionKey(randomBytes(32).toString('base64'))).toHaveLength(32);
  expect(parseKeyEncryptionKey(`${randomBytes(32).toString('base64')}\n`)).toHaveLength(32);
  expect(parseKeyEncryptionKey(randomBytes(31).toString('base64'))).toBeNull();
  expect(parseKeyEncryptionKey(randomBytes(33).toString('base64'))).toBeNull();
  expect(parseKeyEncryptionKey('not base64 at all!')).toBeNull();
});
