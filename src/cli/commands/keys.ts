// `seatkeeper keys`: licence signing keys (issue 18). A rotation retires the tenant's
// signing key and makes the next; the retired key stays in the tenant's JWKS until every
// key it signed has expired, so keys already out keep verifying.
import type { Command } from 'commander';
import { loadKeyEncryptionKey, rotateSigningKey } from '../../keys/index.js';
import { systemClock } from '../../shared/clock.js';
import { getTenant } from '../../tenancy/index.js';
import { printJson, withDatabase } from '../context.js';

export function keysCommands(program: Command): void {
  const keys = program.command('keys').description('licence signing keys');
  keys
    .command('rotate')
    .description(
      'sign new licence keys with a new key; the retired one stays published until the keys it signed expire',
    )
    .requiredOption('--tenant <id>', 'tenant id')
    .option('--json', 'print JSON')
    .action((opts: { tenant: string; json?: boolean }) =>
      withDatabase(async ({ db, actor, config }) => {
        await getTenant(db.knex, opts.tenant);
        // The same key the service seals with, checked against the stored keys first.
        const kek = await loadKeyEncryptionKey(db.knex, {
          value: config.KEY_ENCRYPTION_KEY,
          file: config.KEY_ENCRYPTION_KEY_FILE,
        });
        const r = await rotateSigningKey({
          knex: db.knex,
          tenantId: opts.tenant,
          actor,
          clock: systemClock,
          kek,
        });
        if (opts.json) return printJson(r);
        console.log(`new signing key ${r.kid}${r.retired ? `; retired ${r.retired}` : ''}`);
      }),
    );
}
