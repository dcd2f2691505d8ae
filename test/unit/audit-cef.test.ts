import { escapeExtension, escapeHeader, toCef } from '../../src/audit/export/cef.js';
import { PRODUCT } from '../../src/audit/export/index.js';
import type { AuditRecord } from '../../src/audit/types.js';

const HASH = 'f'.repeat(64);

const plain: AuditRecord = {
  tenantId: '11111111-1111-4111-8111-111111111111',
  seq: 1,
  eventId: '22222222-2222-4222-8222-222222222222',
  occurredAt: '2026-12-01T10:00:00.123Z',
  actorType: 'system',
  actorId: null,
  action: 'user.created',
  targetType: null,
  targetId: null,
  payloadDigest: null,
  payload: null,
  erasedAt: null,
  prevHash: '0'.repeat(64),
  hash: HASH,
};

// A reader of the extension as a SIEM would parse it: a key is a word followed by an
// unescaped '='; a value runs to the next key.
function decodeExtension(ext: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /(?:^| )([A-Za-z0-9]+)=((?:[^\\=]|\\.)*?)(?= [A-Za-z0-9]+=|$)/gs;
  for (const m of ext.matchAll(re)) {
    out[m[1]!] = m[2]!.replace(/\\(.)/gs, (_, c: string) =>
      c === 'n' ? '\n' : c === 'r' ? '\r' : c,
    );
  }
  return out;
}

// Header fields are separated by pipes that are not escaped.
function decodeHeader(line: string): { fields: string[]; extension: string } {
  const fields: string[] = [];
  let current = '';
  let i = 0;
  while (fields.length < 7 && i < line.length) {
    const c = line[i]!;
    if (c === '\\') {
      current += line[i + 1] ?? '';
      i += 2;
    } else if (c === '|') {
      fields.push(current);
      current = '';
      i += 1;
    } else {
      current += c;
      i += 1;
    }
  }
  return { fields, extension: line.slice(i) };
}

const nasty = [
  'plain',
  'back\\slash',
  'pi|pe',
  'equals=sign',
  'new\nline',
  'carriage\rreturn',
  'literal \\n is not a newline',
  'trailing backslash\\',
  '\\=|\\|=\\',
  'key=value other=thing',
  ' leading and trailing ',
  'ünïcødé ✓ 😀',
];

describe('CEF header escaping', () => {
  test('escapes a backslash as two backslashes', () => {
    expect(escapeHeader('a\\b')).toBe('a\\\\b');
  });

  test('escapes a pipe with a backslash', () => {
    expect(escapeHeader('a|b')).toBe('a\\|b');
  });

  test('escapes the backslash before the pipe, so an escaped pipe stays escaped', () => {
    expect(escapeHeader('\\|')).toBe('\\\\\\|');
  });

  test('turns every kind of newline into a space', () => {
    expect(escapeHeader('a\nb\r\nc\rd')).toBe('a b c d');
  });

  test('leaves equals signs alone', () => {
    expect(escapeHeader('a=b')).toBe('a=b');
  });

  test.each(nasty.filter((s) => !/[\r\n]/.test(s)))('%p reads back unchanged', (value) => {
    const line = `CEF:0|${escapeHeader(value)}|x|1|a|b|3|`;
    expect(decodeHeader(line).fields[1]).toBe(value);
  });
});

describe('CEF extension escaping', () => {
  test('escapes a backslash as two backslashes', () => {
    expect(escapeExtension('a\\b')).toBe('a\\\\b');
  });

  test('escapes an equals sign with a backslash', () => {
    expect(escapeExtension('a=b')).toBe('a\\=b');
  });

  test('writes a newline as the two characters \\n', () => {
    expect(escapeExtension('a\nb')).toBe('a\\nb');
  });

  test('writes a carriage return as the two characters \\r', () => {
    expect(escapeExtension('a\rb')).toBe('a\\rb');
  });

  test('writes a CRLF pair as one \\n', () => {
    expect(escapeExtension('a\r\nb')).toBe('a\\nb');
  });

  test('does not escape pipes', () => {
    expect(escapeExtension('a|b')).toBe('a|b');
  });

  test('keeps a literal backslash-n apart from a newline', () => {
    expect(escapeExtension('\\n')).toBe('\\\\n');
    expect(escapeExtension('\n')).toBe('\\n');
  });

  test.each(nasty)('%p reads back unchanged', (value) => {
    const ext = `a=${escapeExtension(value)} b=${escapeExtension(value)} c=end`;
    expect(decodeExtension(ext)).toEqual({ a: value, b: value, c: 'end' });
  });
});

describe('an event as a CEF line', () => {
  test('a record with nasty strings in its action, actor and payload is written exactly so', () => {
    const record: AuditRecord = {
      ...plain,
      seq: 7,
      actorType: 'user',
      actorId: 'ev|l=1\\x\nnext',
      action: 'token.rev|ok\\ed\nline_2',
      targetType: 'token',
      targetId: 'a=b|c',
      payloadDigest: 'b'.repeat(64),
      payload: { note: 'multi\nline', eq: 'a=b', pipe: 'x|y', path: 'C:\\temp', cr: 'x\ry' },
    };
    const expected =
      String.raw`CEF:0|Seatkeeper|Seatkeeper|0.1.0|token.rev\|ok\\ed line_2|token rev\|ok\\ed line 2|5|` +
      String.raw`rt=1796119200123 externalId=22222222-2222-4222-8222-222222222222 ` +
      String.raw`act=token.rev|ok\\ed\nline_2 suser=user:ev|l\=1\\x\nnext ` +
      String.raw`cs1Label=tenant cs1=11111111-1111-4111-8111-111111111111 ` +
      String.raw`cs2Label=target cs2=token:a\=b|c cn1Label=seq cn1=7 ` +
      `cs3Label=hash cs3=${HASH} ` +
      String.raw`msg={"note":"multi\\nline","eq":"a\=b","pipe":"x|y","path":"C:\\\\temp","cr":"x\\ry"}`;
    expect(toCef(record, PRODUCT)).toBe(expected);
  });

  test('a record with no actor id, target or payload leaves those keys out', () => {
    expect(toCef(plain, PRODUCT)).toBe(
      'CEF:0|Seatkeeper|Seatkeeper|0.1.0|user.created|user created|3|' +
        'rt=1796119200123 externalId=22222222-2222-4222-8222-222222222222 act=user.created ' +
        'suser=system cs1Label=tenant cs1=11111111-1111-4111-8111-111111111111 ' +
        `cn1Label=seq cn1=1 cs3Label=hash cs3=${HASH}`,
    );
  });

  test.each([
    ['tenant.created', 5],
    ['token.revoked', 5],
    ['audit.payload_erased', 5],
    ['user.created', 3],
    ['seat.assigned', 3],
    ['tokens.listed', 3],
  ])('%s has severity %d', (action, severity) => {
    const { fields } = decodeHeader(toCef({ ...plain, action }, PRODUCT));
    expect(fields[6]).toBe(String(severity));
  });

  test('the product fields are escaped like any other header field', () => {
    const line = toCef(plain, { vendor: 'A|B', name: 'N\\M', version: '1\n2' });
    expect(line.startsWith(String.raw`CEF:0|A\|B|N\\M|1 2|user.created|`)).toBe(true);
  });

  test('the extension of a line decodes back to the event', () => {
    const record: AuditRecord = {
      ...plain,
      actorType: 'token',
      actorId: nasty.join(' '),
      targetType: 'user',
      targetId: 'x=y\\z',
      payloadDigest: 'b'.repeat(64),
      payload: { values: nasty },
    };
    const { extension } = decodeHeader(toCef(record, PRODUCT));
    const ext = decodeExtension(extension);
    expect(ext.suser).toBe(`token:${nasty.join(' ')}`);
    expect(ext.cs2).toBe('user:x=y\\z');
    expect(JSON.parse(ext.msg!)).toEqual({ values: nasty });
    expect(ext.cn1).toBe('1');
    expect(ext.cs1).toBe(plain.tenantId);
  });

  test('one event is always one line, whatever its strings hold', () => {
    const breaks = ['\n', '\r', '\r\n', '\n\r', '\n\n'];
    for (const nl of breaks) {
      const s = `one${nl}two|three=four\\${nl}`;
      const record: AuditRecord = {
        ...plain,
        actorId: s,
        action: `user.${s}`,
        targetType: s,
        targetId: s,
        payloadDigest: 'b'.repeat(64),
        payload: { [s]: s, list: [s, s] },
      };
      const line = toCef(record, { vendor: s, name: s, version: s });
      expect(line).not.toMatch(/[\r\n]/);
    }
  });
});
