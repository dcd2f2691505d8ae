import { isUuid, newId } from '../../src/shared/ids.js';

// The fields of an RFC 9562 UUID that version 7 defines.
const timestampOf = (id: string) => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
const versionOf = (id: string) => id[14];
const variantBitsOf = (id: string) => (parseInt(id[19]!, 16) >> 2).toString(2);

describe('newId mints RFC 9562 version 7 ids', () => {
  it('is a UUID with version 7 and the RFC variant', () => {
    for (let i = 0; i < 1000; i++) {
      const id = newId();
      expect(isUuid(id)).toBe(true);
      expect(versionOf(id)).toBe('7');
      expect(variantBitsOf(id)).toBe('10');
    }
  });

  it('starts with the time it was minted, in milliseconds', () => {
    const before = Date.now();
    const id = newId();
    const after = Date.now();
    expect(timestampOf(id)).toBeGreaterThanOrEqual(before);
    expect(timestampOf(id)).toBeLessThanOrEqual(after);
    expect(timestampOf(newId(Date.UTC(2030, 0, 1)))).toBe(Date.UTC(2030, 0, 1));
  });

  it('sorts ids minted in later milliseconds after earlier ones (as text, and so as a PostgreSQL uuid)', () => {
    const t = Date.UTC(2026, 11, 2);
    const ids = Array.from({ length: 200 }, (_, i) => newId(t + i));
    expect([...ids].sort()).toEqual(ids);
  });

  it('keeps 74 random bits: ids of the same millisecond do not collide', () => {
    const t = Date.now();
    const ids = new Set(Array.from({ length: 50_000 }, () => newId(t)));
    expect(ids.size).toBe(50_000);
  });
});
