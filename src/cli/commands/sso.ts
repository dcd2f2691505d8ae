// `seatkeeper sso add|list|remove`: a tenant's SSO connections from the command line
// (issue 15), the same operations as /api/v1/sso/connections. A connection is given as
// the API's JSON body in a file (or `-` for stdin), so a client secret never appears on
// a command line; `--metadata` adds an IdP metadata file to a SAML one.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Config } from '../../config/index.js';
import type { Logger } from '../../log/logger.js';
import { systemClock } from '../../shared/clock.js';
import { invalidInput } from '../../shared/errors.js';
import type { Database } from '../../db/database.js';
import {
  createConnection,
  DEFAULT_SSO_SETTINGS,
  deleteConnection,
  listConnections,
  loadSsoSecretKey,
  type SsoContext,
} from '../../sso/index.js';
import { getTenant } from '../../tenancy/index.js';
import { printJson, withDatabase } from '../context.js';

function ssoContext(config: Config, db: Database, logger: Logger): SsoContext {
  const publicUrl = config.PUBLIC_URL ?? `http://localhost:${config.PORT}`;
  return {
    knex: db.knex,
    clock: systemClock,
    logger,
    publicUrl: () => publicUrl,
    secretKey: loadSsoSecretKey(config.SSO_SECRET_KEY_FILE, { create: true })!,
    settings: {
      ...DEFAULT_SSO_SETTINGS,
      allowInsecureHttp: config.SSO_ALLOW_INSECURE_HTTP,
      clockSkewMs: config.SSO_CLOCK_SKEW_MS,
    },
  };
}

async function readInput(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function ssoCommands(program: Command): void {
  const sso = program.command('sso').description("add, list and remove a tenant's SSO connections");
  sso
    .command('add')
    .description('add an OIDC or SAML connection, given as the API body (JSON)')
    .requiredOption('--tenant <id>', 'tenant id')
    .argument(
      '<file>',
      'the connection as JSON, as POST /api/v1/sso/connections takes it (- for stdin)',
    )
    .option('--metadata <file>', "a SAML IdP's metadata XML, for its metadataXml")
    .option('--json', 'print JSON')
    .action((file: string, opts: { tenant: string; metadata?: string; json?: boolean }) =>
      withDatabase(async ({ config, db, logger, actor }) => {
        await getTenant(db.knex, opts.tenant);
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(await readInput(file)) as Record<string, unknown>;
        } catch (err) {
          throw invalidInput(`${file}: not JSON (${(err as Error).message})`);
        }
        if (opts.metadata) body.metadataXml = await readFile(opts.metadata, 'utf8');
        const created = await createConnection(
          ssoContext(config, db, logger),
          { tenantId: opts.tenant, actor },
          body,
        );
        if (opts.json) return printJson(created);
        console.log(`connection ${created.id} (${created.type})`);
        if (created.type === 'oidc') console.log(`redirect URI  ${created.redirectUri}`);
        else {
          console.log(`SP entity id  ${created.spEntityId}`);
          console.log(`ACS URL       ${created.acsUrl}`);
          console.log(`metadata URL  ${created.metadataUrl}`);
        }
      }),
    );
  sso
    .command('list')
    .description("list a tenant's connections (never their secrets)")
    .requiredOption('--tenant <id>', 'tenant id')
    .option('--json', 'print JSON')
    .action((opts: { tenant: string; json?: boolean }) =>
      withDatabase(async ({ config, db, logger }) => {
        await getTenant(db.knex, opts.tenant);
        const { items } = await listConnections(ssoContext(config, db, logger), opts.tenant);
        if (opts.json) return printJson(items);
        if (items.length === 0) return console.log('no connections');
        for (const c of items) {
          const idp = c.type === 'oidc' ? c.issuer : c.idpEntityId;
          console.log(`${c.id}  ${c.type.padEnd(4)}  ${idp}  ${c.domains.join(',')}`);
        }
      }),
    );
  sso
    .command('remove')
    .description('remove a connection')
    .requiredOption('--tenant <id>', 'tenant id')
    .argument('<connectionId>', 'connection id')
    .action((connectionId: string, opts: { tenant: string }) =>
      withDatabase(async ({ config, db, logger, actor }) => {
        await getTenant(db.knex, opts.tenant);
        await deleteConnection(
          ssoContext(config, db, logger),
          { tenantId: opts.tenant, actor },
          connectionId,
        );
        console.log(`removed ${connectionId}`);
      }),
    );
}
