import { generateKeyPairSync } from 'node:crypto';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  checkpointSignatureValid,
  signCheckpoint,
  type Checkpoint,
} from '../../src/audit/checkpoint.js';
import { keyIdOf, loadSigningKey, type SigningKey } from '../../src/audit/signing-key.js';

let dir: string;
let key: SigningKey;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sk-signing-'));
  key = loadSigningKey(path.join(dir, 'keys', 'checkpoint.pem'), { create: true })!;
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the checkpoint signing key', () => {
  test('is created on first use as an Ed25519 key in a file only its owner can read', () => {
    const file = path.join(dir, 'keys', 'checkpoint.pem');
    expect(key.privateKey.asymmetricKeyType).toBe('ed25519');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
  });

  test('is the same key when loaded again', () => {
    const file = path.join(dir, 'keys', 'checkpoint.pem');
    expect(loadSigningKey(file, { create: false })!.keyId).toBe(key.keyId);
    expect(loadSigningKey(file, { create: true })!.keyId).toBe(key.keyId);
  });

  test('is not created when creation was not asked for', () => {
    const file = path.join(dir, 'absent.pem');
    expect(loadSigningKey(file, { create: false })).toBeNull();
    expect(existsSync(file)).toBe(false);
  });

  test('is identified by a short digest of its public half', () => {
    expect(key.keyId).toBe(keyIdOf(key.publicKey));
    expect(key.keyId).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  test('a file that is not a PEM private key is refused', () => {
    const file = path.join(dir, 'garbage.pem');
    writeFileSync(file, 'not a key\n');
    expect(() => loadSigningKey(file, { create: true })).toThrow(
      expect.objectContaining({ code: 'signing_key_invalid' }),
    );
  });

  test('a key of another type than Ed25519 is refused', () => {
    const file = path.join(dir, 'ec.pem');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    expect(() => loadSigningKey(file, { create: false })).toThrow(
      expect.objectContaining({ code: 'signing_key_invalid' }),
    );
  });
});

describe('a signed checkpoint', () => {
  const fields = {
    tenantId: '11111111-1111-4111-8111-111111111111',
    seq: 42,
    headHash: 'a'.repeat(64),
    signedAt: '2026-12-01T10:00:00.000Z',
  };

  test('verifies with the key that signed it', () => {
    const c = signCheckpoint(key, fields);
    expect(c).toMatchObject({ ...fields, keyId: key.keyId });
    expect(checkpointSignatureValid(key.publicKey, c)).toBe(true);
  });

  test('does not verify with another key', () => {
    const other = loadSigningKey(path.join(dir, 'other.pem'), { create: true })!;
    expect(checkpointSignatureValid(other.publicKey, signCheckpoint(key, fields))).toBe(false);
  });

  test.each<[string, Partial<Checkpoint>]>([
    ['tenant', { tenantId: '22222222-2222-4222-8222-222222222222' }],
    ['sequence number', { seq: 41 }],
    ['head hash', { headHash: 'b'.repeat(64) }],
    ['signing time', { signedAt: '2026-12-01T10:00:00.001Z' }],
  ])('does not verify once its %s is changed', (_what, change) => {
    const c = signCheckpoint(key, fields);
    expect(checkpointSignatureValid(key.publicKey, { ...c, ...change })).toBe(false);
  });

  test('with a malformed signature is invalid rather than an error', () => {
    const c = signCheckpoint(key, fields);
    for (const signature of ['', 'not base64!', c.signature.slice(0, 40)]) {
      expect(checkpointSignatureValid(key.publicKey, { ...c, signature })).toBe(false);
    }
  });
});
