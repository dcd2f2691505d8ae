// KEY_ENCRYPTION_KEY at boot. The key comes from the environment, else from its file
// (KEY_ENCRYPTION_KEY_FILE, by default in the data directory, 0600), which is generated
// only while no signing key exists: once keys are sealed under one, a missing or wrong
// key must stop the service (exit 78, EX_CONFIG) rather than start one that cannot sign
// or, worse, quietly make new keys beside the ones it can no longer open. The check
// opens one stored key (a definer function names a tenant holding one: ids only; the
// row is read under that tenant's scope).
import type { Knex } from 'knex';
import { ConfigError } from '../config/index.js';
import { withTenant } from '../db/tenant-scope.js';
import { loadKeyFile } from '../shared/key-file.js';
import { newKeyEncryptionKeyText, open, parseKeyEncryptionKey } from './sealing.js';

async function anySealedKey(knex: Knex) {
  const { rows } = (await knex.raw('SELECT license_signing_key_tenant() AS t')) as {
    rows: Array<{ t: string | null }>;
  };
  const tenantId = rows[0]?.t;
  if (!tenantId) return null;
  const row = (await withTenant(knex, tenantId, (trx) =>
    trx('license_signing_keys').where({ tenant_id: tenantId }).first('kid', 'sealed_private_jwk'),
  )) as { kid: string; sealed_private_jwk: Buffer };
  return { tenantId, ...row };
}

export async function loadKeyEncryptionKey(
  knex: Knex,
  source: { value?: string | undefined; file: string },
): Promise<Uint8Array> {
  const stored = await anySealedKey(knex);
  let kek: Uint8Array | null;
  if (source.value !== undefined) {
    kek = parseKeyEncryptionKey(source.value);
    if (!kek) throw new ConfigError(['KEY_ENCRYPTION_KEY: must be 32 bytes, base64']);
  } else {
    kek = loadKeyFile(source.file, {
      create: stored === null,
      parse: (text) => {
        const k = parseKeyEncryptionKey(text);
        if (!k)
          throw new ConfigError([
            `KEY_ENCRYPTION_KEY_FILE: ${source.file} does not hold 32 bytes, base64`,
          ]);
        return k;
      },
      generate: newKeyEncryptionKeyText,
    });
    if (!kek) {
      throw new ConfigError([
        `KEY_ENCRYPTION_KEY: missing (not set, and no ${source.file}), but licence signing keys exist: set the key they were sealed with`,
      ]);
    }
  }
  if (stored) {
    try {
      open(kek, stored.tenantId, stored.kid, stored.sealed_private_jwk);
    } catch {
      throw new ConfigError([
        'KEY_ENCRYPTION_KEY: wrong key: it does not open the stored licence signing keys',
      ]);
    }
  }
  return kek;
}
