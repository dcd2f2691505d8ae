import { setTimeout } from 'node:timers/promises';
import type { Command } from 'commander';
import {
  createTenant,
  createToken,
  listTenants,
  listTokens,
  revokeToken,
} from '../../tenancy/index.js';
import { printJson, withDatabase } from '../context.js';

export function tenantCommands(program: Command): void {
  const tenant = program.command('tenant').description('create and list tenants');
  tenant
    .command('create')
    .description('create a tenant with a SCIM and an API token (shown once)')
    .argument('<name>', 'display name')
    .option('--json', 'print {"id","name","scimToken","apiToken"}')
    .action((name: string, opts: { json?: boolean }) =>
      withDatabase(async ({ db, actor }) => {
        const t = await createTenant(db.knex, name, { actor });
        if (opts.json)
          return printJson({
            id: t.id,
            name: t.name,
            scimToken: t.scimToken,
            apiToken: t.apiToken,
          });
        console.log(`tenant     ${t.name} (${t.id})`);
        console.log(`SCIM token ${t.scimToken}`);
        console.log(`API token  ${t.apiToken}`);
        console.log('The tokens are shown only now: store them.');
      }),
    );
  tenant
    .command('list')
    .description('list tenants')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      withDatabase(async ({ db }) => {
        const tenants = await listTenants(db.knex);
        if (opts.json) return printJson(tenants);
        if (tenants.length === 0) return console.log('no tenants');
        for (const t of tenants) console.log(`${t.id}  ${t.createdAt}  ${t.name}`);
      }),
    );
}

export function tokenCommands(program: Command): void {
  const token = program.command('token').description("create, list and revoke a tenant's tokens");
  token
    .command('create')
    .description('create a token (shown once)')
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--scope <scope>', 'scim (for the identity provider) or api (admin REST)')
    .option('--name <name>', 'what the token is for')
    .option('--json', 'print JSON')
    .action((opts: { tenant: string; scope: string; name?: string; json?: boolean }) =>
      withDatabase(async ({ db, actor }) => {
        const t = await createToken(
          db.knex,
          opts.tenant,
          { scope: opts.scope, name: opts.name },
          { actor },
        );
        if (opts.json) return printJson(t);
        console.log(`token ${t.id} (${t.scope}, "${t.name}")`);
        console.log(t.token);
        console.log('The token is shown only now: store it.');
      }),
    );
  token
    .command('list')
    .description("list a tenant's tokens (never their secrets)")
    .requiredOption('--tenant <id>', 'tenant id')
    .option('--json', 'print JSON')
    .action((opts: { tenant: string; json?: boolean }) =>
      withDatabase(async ({ db }) => {
        const tokens = await listTokens(db.knex, opts.tenant);
        if (opts.json) return printJson(tokens);
        for (const t of tokens) {
          console.log(
            `${t.id}  ${t.scope.padEnd(4)}  ${t.revokedAt ? `revoked ${t.revokedAt}` : 'active'}  ${t.name}`,
          );
        }
      }),
    );
  token
    .command('revoke')
    .description('revoke a token; when this returns, every replica refuses it')
    .requiredOption('--tenant <id>', 'tenant id')
    .argument('<tokenId>', 'token id (from token list)')
    .option('--json', 'print JSON')
    .action((tokenId: string, opts: { tenant: string; json?: boolean }) =>
      withDatabase(async ({ db, actor, config }) => {
        const t = await revokeToken(db.knex, opts.tenant, tokenId, { actor });
        // Replicas trust a token row they read for TOKEN_CACHE_TTL_MS: once that has
        // passed since the commit, none can still hold the row from before it.
        await setTimeout(config.TOKEN_CACHE_TTL_MS);
        if (opts.json) return printJson(t);
        console.log(`revoked ${t.id} at ${t.revokedAt}`);
      }),
    );
}
