import { randomUUID } from 'node:crypto';
import { mintToken, parseToken, secretMatches } from '../../src/tenancy/tokens.js';

describe('bearer tokens', () => {
  const tenantId = randomUUID();
  const tokenId = randomUUID();

  test('a minted token names its tenant, token id and scope', () => {
    const { token } = mintToken(tenantId, tokenId, 'scim');
    expect(token).toMatch(/^sk_scim_/);
    expect(parseToken(token)).toMatchObject({ scope: 'scim', tenantId, tokenId });
  });

  test('only the hash of the secret is kept, and it matches the secret', () => {
    const { token, secretHash } = mintToken(tenantId, tokenId, 'api');
    const parsed = parseToken(token)!;
    expect(secretHash).toHaveLength(32);
    expect(token).not.toContain(secretHash.toString('hex'));
    expect(secretMatches(parsed.secret, secretHash)).toBe(true);
    expect(secretMatches(`${parsed.secret.slice(0, -1)}A`, secretHash)).toBe(
      parsed.secret.endsWith('A'),
    );
  });

  test('two tokens for the same ids have different secrets', () => {
    expect(mintToken(tenantId, tokenId, 'api').token).not.toBe(
      mintToken(tenantId, tokenId, 'api').token,
    );
  });

  test.each([
    ['empty', ''],
    ['unknown scope', 'sk_root_' + 'A'.repeat(43) + '_' + 'B'.repeat(43)],
    ['short secret', 'sk_api_' + 'A'.repeat(43) + '_' + 'B'.repeat(42)],
    ['trailing garbage', mintToken(tenantId, tokenId, 'api').token + 'x'],
    ['not a token at all', 'Bearer abc'],
  ])('a %s string is not a token', (_what, raw) => {
    expect(parseToken(raw)).toBeNull();
  });

  test('an id segment with its spare bits set is not a second spelling of the token (issue 12)', () => {
    const { token } = mintToken(tenantId, tokenId, 'api');
    const ids = token.slice('sk_api_'.length, 'sk_api_'.length + 43); // may contain '_'
    const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // The 43rd character carries 2 bits beyond the 32 bytes: set them.
    const last = B64.indexOf(ids[42]!);
    const variant = ids.slice(0, 42) + B64[last | 0b11];
    expect(variant).not.toBe(ids);
    expect(Buffer.from(variant, 'base64url')).toEqual(Buffer.from(ids, 'base64url'));
    expect(parseToken(`sk_api_${variant}${token.slice('sk_api_'.length + 43)}`)).toBeNull();
  });
});
