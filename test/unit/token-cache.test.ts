import { randomUUID } from 'node:crypto';
import { TokenCache, type VerifiedToken } from '../../src/tenancy/token-cache.js';

const row = (): VerifiedToken => ({
  tenantId: randomUUID(),
  tokenId: randomUUID(),
  scope: 'scim',
  revokedAt: null,
});

describe('TokenCache', () => {
  test('a row is fresh for ttl from when it was read, then gone', () => {
    let now = 100;
    const cache = new TokenCache(1000, () => now);
    const r = row();
    const readAt = cache.clock();
    now = 150; // the read took 50 ms: the entry still expires 1000 ms after it began
    cache.set('t1', r, readAt);
    now = 1099;
    expect(cache.get('t1')).toBe(r);
    now = 1100;
    expect(cache.get('t1')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test('a ttl of 0 caches nothing', () => {
    const cache = new TokenCache(0, () => 0);
    cache.set('t1', row(), 0);
    expect(cache.get('t1')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test('memory stays bounded: beyond 10,000 rows the oldest goes first', () => {
    const cache = new TokenCache(60_000, () => 0);
    for (let i = 0; i <= 10_000; i++) cache.set(`t${i}`, row(), 0);
    expect(cache.size).toBe(10_000);
    expect(cache.get('t0')).toBeUndefined();
    expect(cache.get('t1')).toBeDefined();
    expect(cache.get('t10000')).toBeDefined();
  });

  test('a row read again replaces the old one and its expiry', () => {
    let now = 0;
    const cache = new TokenCache(1000, () => now);
    cache.set('t1', row(), 0);
    const newer = row();
    now = 900;
    cache.set('t1', newer, 900);
    now = 1500;
    expect(cache.get('t1')).toBe(newer);
  });
});
