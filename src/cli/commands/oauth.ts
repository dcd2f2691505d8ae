// `seatkeeper oauth`: OAuth 2.0 clients for integrations and the access tokens'
// signing keys (issue 15). A client's secret is shown once, at creation.
import type { Command } from 'commander';
import { createClient, listClients, revokeClient, SigningKeys } from '../../oauth/index.js';
import { systemClock } from '../../shared/clock.js';
import { getTenant } from '../../tenancy/index.js';
import { loadConfig } from '../../config/index.js';
import { printJson, withDatabase } from '../context.js';

export function oauthCommands(program: Command): void {
  const oauth = program
    .command('oauth')
    .description('OAuth 2.0 clients (client credentials) and the token signing keys');
  const client = oauth.command('client').description("a tenant's OAuth clients");
  client
    .command('create')
    .description('create a client (its secret is shown once)')
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--name <name>', 'what the client is for')
    .requiredOption('--scope <scope...>', 'api:read, api:write and/or scim')
    .option('--json', 'print JSON')
    .action((opts: { tenant: string; name: string; scope: string[]; json?: boolean }) =>
      withDatabase(async ({ db, actor }) => {
        await getTenant(db.knex, opts.tenant);
        const c = await createClient(
          { knex: db.knex, tenantId: opts.tenant, actor, clock: systemClock },
          { name: opts.name, scopes: opts.scope },
        );
        if (opts.json) return printJson(c);
        console.log(`client id     ${c.clientId}`);
        console.log(`client secret ${c.clientSecret}`);
        console.log('The secret is shown only now: store it.');
      }),
    );
  client
    .command('list')
    .description("list a tenant's clients (never their secrets)")
    .requiredOption('--tenant <id>', 'tenant id')
    .option('--json', 'print JSON')
    .action((opts: { tenant: string; json?: boolean }) =>
      withDatabase(async ({ db }) => {
        await getTenant(db.knex, opts.tenant);
        const { items } = await listClients(db.knex, opts.tenant);
        if (opts.json) return printJson(items);
        if (items.length === 0) return console.log('no clients');
        for (const c of items) {
          const state = c.revokedAt ? `revoked ${c.revokedAt}` : 'active';
          console.log(`${c.clientId}  ${c.scopes.join(' ')}  ${state}  ${c.name}`);
        }
      }),
    );
  client
    .command('revoke')
    .description('revoke a client: its tokens stop working at once')
    .requiredOption('--tenant <id>', 'tenant id')
    .argument('<clientId>', 'client id')
    .action((clientId: string, opts: { tenant: string }) =>
      withDatabase(async ({ db, actor }) => {
        await getTenant(db.knex, opts.tenant);
        await revokeClient(
          { knex: db.knex, tenantId: opts.tenant, actor, clock: systemClock },
          clientId,
        );
        console.log(`revoked ${clientId}`);
      }),
    );
  oauth
    .command('rotate-key')
    .description(
      'sign new tokens with a new key; the previous key stays published until its tokens expire',
    )
    .option('--json', 'print the new public key')
    .action((opts: { json?: boolean }) => {
      const config = loadConfig();
      SigningKeys.fromFile(config.OAUTH_SIGNING_KEY_FILE);
      const key = SigningKeys.rotate(config.OAUTH_SIGNING_KEY_FILE);
      if (opts.json) return printJson(key);
      console.log(`new signing key ${key.kid}; every replica picks it up on its next unknown kid`);
    });
}
