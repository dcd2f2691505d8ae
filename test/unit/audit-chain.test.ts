import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import {
  canonicalJson,
  chainMaterial,
  eventHash,
  GENESIS_HASH,
  newSalts,
  payloadDigest,
  type ChainedFields,
} from '../../src/audit/chain.js';

const TENANT = '11111111-1111-4111-8111-111111111111';
const PREV = 'a'.repeat(64);

const fields: ChainedFields = {
  eventId: '22222222-2222-4222-8222-222222222222',
  occurredAt: '2026-12-01T10:00:00.123Z',
  actorType: 'cli',
  actorId: 'alice',
  action: 'token.created',
  targetType: 'token',
  targetId: 'tok-1',
  payloadDigest: 'b'.repeat(64),
};

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

describe('the event hash', () => {
  test('is the same for the same event, every time', () => {
    const a = eventHash(PREV, 5, TENANT, fields);
    const b = eventHash(PREV, 5, TENANT, { ...fields });
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
  });

  test('is SHA-256 over the canonical JSON of the previous hash, sequence number, tenant and fields', () => {
    // Pinned by hand: a change to this format would stop every stored trail verifying.
    const material =
      '{"event":{"action":"tenant.created","actorId":null,"actorType":"cli",' +
      '"eventId":"22222222-2222-4222-8222-222222222222","occurredAt":"2026-12-01T10:00:00.123Z",' +
      '"payloadDigest":null,"targetId":"t-1","targetType":"tenant"},' +
      `"prev":"${GENESIS_HASH}","seq":1,"tenant":"${TENANT}"}`;
    const hash = eventHash(GENESIS_HASH, 1, TENANT, {
      eventId: '22222222-2222-4222-8222-222222222222',
      occurredAt: '2026-12-01T10:00:00.123Z',
      actorType: 'cli',
      actorId: null,
      action: 'tenant.created',
      targetType: 'tenant',
      targetId: 't-1',
      payloadDigest: null,
    });
    expect(hash).toBe(sha256(material));
  });

  test('the genesis hash is 64 zeros', () => {
    expect(GENESIS_HASH).toBe('0'.repeat(64));
  });

  const changes: Array<[keyof ChainedFields, string | null]> = [
    ['eventId', '33333333-3333-4333-8333-333333333333'],
    ['occurredAt', '2026-12-01T10:00:00.124Z'],
    ['actorType', 'user'],
    ['actorId', 'mallory'],
    ['actorId', null],
    ['actorId', ''],
    ['action', 'token.revoked'],
    ['targetType', 'tenant'],
    ['targetType', null],
    ['targetId', 'tok-2'],
    ['targetId', null],
    ['payloadDigest', 'c'.repeat(64)],
    ['payloadDigest', null],
  ];
  test.each(changes)('changes when %s becomes %p', (field, value) => {
    const before = eventHash(PREV, 5, TENANT, fields);
    const after = eventHash(PREV, 5, TENANT, { ...fields, [field]: value });
    expect(after).not.toBe(before);
  });

  test('changes when the previous hash changes', () => {
    expect(eventHash('c'.repeat(64), 5, TENANT, fields)).not.toBe(
      eventHash(PREV, 5, TENANT, fields),
    );
  });

  test('changes when the sequence number changes', () => {
    expect(eventHash(PREV, 6, TENANT, fields)).not.toBe(eventHash(PREV, 5, TENANT, fields));
  });

  test('changes when the tenant changes', () => {
    const other = '44444444-4444-4444-8444-444444444444';
    expect(eventHash(PREV, 5, other, fields)).not.toBe(eventHash(PREV, 5, TENANT, fields));
  });

  test('does not depend on the order the fields were given in', () => {
    const reversed = Object.fromEntries(Object.entries(fields).reverse()) as ChainedFields;
    expect(eventHash(PREV, 5, TENANT, reversed)).toBe(eventHash(PREV, 5, TENANT, fields));
  });
});

describe('canonical JSON (RFC 8785)', () => {
  // Keys and strings from the whole UTF-16 range, lone surrogates included.
  const text = fc.string({ unit: 'binary' });
  const utf16 = fc.string({
    unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  });
  const primitive = fc.oneof(
    text,
    utf16,
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    fc.constant(undefined),
  );
  const flat = fc.dictionary(fc.oneof(text, utf16), primitive);

  const library = (v: unknown) => {
    try {
      return { ok: true, json: canonicalize(v) };
    } catch {
      return { ok: false };
    }
  };
  const ours = (v: unknown) => {
    try {
      return { ok: true, json: canonicalJson(v) };
    } catch {
      return { ok: false };
    }
  };

  test('the flat-object fast path writes exactly what canonicalize writes', () => {
    fc.assert(
      fc.property(flat, (v) => {
        const expected = library(v);
        // canonicalize gives undefined only for a top-level undefined; never here.
        expect(ours(v)).toEqual(expected);
      }),
      { numRuns: 2000 },
    );
  });

  test('nested values, arrays and objects with prototypes still go through canonicalize', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(ours(v)).toEqual(library(v));
      }),
      { numRuns: 500 },
    );
    expect(canonicalJson({ b: [2, 1], a: { d: 1, c: null } })).toBe(
      '{"a":{"c":null,"d":1},"b":[2,1]}',
    );
    expect(canonicalJson({ when: new Date(0) })).toBe('{"when":"1970-01-01T00:00:00.000Z"}');
  });
});

describe('the chained material written out', () => {
  const text = fc.string({ unit: 'binary' });
  const nullable = fc.option(text, { nil: null });
  const anyFields = fc.record({
    eventId: fc.uuid(),
    occurredAt: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    actorType: text,
    actorId: nullable,
    action: text,
    targetType: nullable,
    targetId: nullable,
    payloadDigest: nullable,
  });
  const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);

  test('is exactly the RFC 8785 form of { prev, seq, tenant, event } for any event', () => {
    fc.assert(
      fc.property(anyFields, hex64, fc.nat(), fc.uuid(), (f, prev, seq, tenant) => {
        expect(chainMaterial(canonicalJson(f), prev, seq, tenant)).toBe(
          canonicalJson({ prev, seq, tenant, event: f }),
        );
      }),
      { numRuns: 500 },
    );
  });

  test('eventHash is SHA-256 of exactly that RFC 8785 form, and reads only the chained fields', () => {
    fc.assert(
      fc.property(anyFields, hex64, fc.nat(), fc.uuid(), (f, prev, seq, tenant) => {
        const expected = createHash('sha256')
          .update(canonicalize({ prev, seq, tenant, event: f })!, 'utf8')
          .digest('hex');
        expect(eventHash(prev, seq, tenant, f)).toBe(expected);
        const row = { ...f, seq: 9, hash: 'x', body: { more: true } } as ChainedFields;
        expect(eventHash(prev, seq, tenant, row)).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  test('falls back to canonicalising everything when a part is not hex or a UUID', () => {
    const event = canonicalJson(fields);
    for (const [prev, tenant] of [
      ['"quoted"', TENANT],
      [PREV, 'Tenant "A"'],
    ])
      expect(chainMaterial(event, prev!, 3, tenant!)).toBe(
        canonicalJson({ prev, seq: 3, tenant, event: fields }),
      );
  });
});

describe('canonical JSON (RFC 8785)', () => {
  test('serialises numbers, strings and literals as in the RFC example', () => {
    const input = String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`;
    const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
    expect(canonicalJson(JSON.parse(input))).toBe(expected);
  });

  test('sorts keys by UTF-16 code units, as in the RFC example', () => {
    const input = String.raw`{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }`;
    const values = [...canonicalJson(JSON.parse(input)).matchAll(/:"([^"]+)"/g)].map((m) => m[1]);
    expect(values).toEqual([
      'Carriage Return',
      'One',
      'Control',
      'Latin Small Letter O With Diaeresis',
      'Euro Sign',
      'Emoji: Grinning Face',
      'Hebrew Letter Dalet With Dagesh',
    ]);
  });

  test('refuses a value that has no JSON representation', () => {
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
  });
});

describe('the payload digest', () => {
  const salt = Buffer.alloc(16, 7);

  test('is SHA-256 over the salt followed by the canonical JSON of the payload', () => {
    const expected = createHash('sha256')
      .update(salt)
      .update('{"a":1,"b":[2,{"c":"d","e":null}]}', 'utf8')
      .digest('hex');
    expect(payloadDigest(salt, { b: [2, { e: null, c: 'd' }], a: 1 })).toBe(expected);
  });

  test('does not change with the order of keys in the payload, at any depth', () => {
    const a = { name: 'Admin API', scope: 'api', nested: { x: 1, y: [1, 2], z: { q: true } } };
    const b = { nested: { z: { q: true }, y: [1, 2], x: 1 }, scope: 'api', name: 'Admin API' };
    expect(payloadDigest(salt, b)).toBe(payloadDigest(salt, a));
  });

  test('changes with a different salt', () => {
    const body = { scope: 'api' };
    expect(payloadDigest(Buffer.alloc(16, 8), body)).not.toBe(payloadDigest(salt, body));
  });

  test('changes with a different payload', () => {
    expect(payloadDigest(salt, { scope: 'scim' })).not.toBe(payloadDigest(salt, { scope: 'api' }));
  });

  test('changes with the order of an array in the payload', () => {
    expect(payloadDigest(salt, { a: [2, 1] })).not.toBe(payloadDigest(salt, { a: [1, 2] }));
  });

  test('salts are 16 random bytes each, all different, within a batch and across batches', () => {
    const batch = [...newSalts(1000), ...newSalts(3)];
    expect(batch.every((s) => s.length === 16)).toBe(true);
    expect(new Set(batch.map((s) => s.toString('hex'))).size).toBe(batch.length);
  });

  test('single salts from the pool are never handed out twice and never change', () => {
    // Enough draws to use up the 4 KiB pool several times over.
    const singles = Array.from({ length: 1000 }, () => newSalts(1)[0]!);
    const hex = singles.map((s) => s.toString('hex'));
    expect(new Set(hex).size).toBe(singles.length);
    newSalts(300); // more draws after: earlier salts keep their bytes
    expect(singles.map((s) => s.toString('hex'))).toEqual(hex);
  });
});
