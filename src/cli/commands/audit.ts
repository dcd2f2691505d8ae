import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { Option, type Command } from 'commander';
import {
  type Checkpoint,
  countAuditEvents,
  createCheckpoints,
  eraseSubject,
  EXPORT_FORMATS,
  exportAudit,
  type ExportFormat,
  listCheckpoints,
  loadMacKey,
  loadSigningKey,
  settleAudit,
  type VerifyReport,
  verifyTenantChain,
} from '../../audit/index.js';
import { AppError } from '../../shared/errors.js';
import { getTenant, listTenants } from '../../tenancy/index.js';
import { printJson, withDatabase } from '../context.js';
import { progressBar } from '../progress.js';

async function readCheckpointFile(file: string): Promise<Checkpoint[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line, i) => {
      try {
        return JSON.parse(line) as Checkpoint;
      } catch {
        throw new AppError('invalid_input', `${file}:${i + 1}: not a JSON checkpoint`);
      }
    });
}

export function auditCommands(program: Command): void {
  const audit = program
    .command('audit')
    .description('verify, export and checkpoint the audit trail');

  audit
    .command('verify')
    .description('recompute every hash chain; exits 1 and names the first broken event if any')
    .option('--tenant <id>', 'only this tenant')
    .option('--checkpoints <file>', 'also check against checkpoints exported earlier (JSON lines)')
    .option('--json', 'print JSON')
    .action((opts: { tenant?: string; checkpoints?: string; json?: boolean }) =>
      withDatabase(async ({ db, config }) => {
        const key = loadSigningKey(config.AUDIT_SIGNING_KEY_FILE, { create: false });
        const macKey = loadMacKey(config.AUDIT_MAC_KEY_FILE, { create: false });
        const publicKeys = new Map(key ? [[key.keyId, key.publicKey]] : []);
        const externalCheckpoints = opts.checkpoints
          ? await readCheckpointFile(opts.checkpoints)
          : [];
        const tenants = opts.tenant
          ? [await getTenant(db.knex, opts.tenant)]
          : await listTenants(db.knex);
        // Events still waiting to be chained are chained first, so verify covers them.
        for (const t of tenants) await settleAudit(db.knex, { tenantId: t.id });
        const reports: VerifyReport[] = [];
        for (const t of tenants)
          reports.push(
            await verifyTenantChain(db.knex, t.id, { publicKeys, externalCheckpoints, macKey }),
          );
        const ok = reports.every((r) => r.ok);
        if (opts.json) printJson({ ok, tenants: reports });
        else {
          for (const r of reports) {
            console.log(
              r.ok
                ? `ok      ${r.tenantId}  ${r.events} events, ${r.checkpointsChecked} checkpoints${r.pending ? `, ${r.pending} waiting to be chained` : ''}${r.macsChecked ? '' : ' (MACs not checked: no MAC key)'}`
                : `BROKEN  ${r.tenantId}  at event ${r.firstBroken!.seq}${r.firstBroken!.eventId ? ` (${r.firstBroken!.eventId})` : ''}: ${r.firstBroken!.message}`,
            );
          }
        }
        if (!ok) process.exitCode = 1;
      }),
    );

  audit
    .command('export')
    .description('stream the trail as JSON lines, CSV or ArcSight CEF')
    .addOption(
      new Option('--format <format>', 'output format').choices([...EXPORT_FORMATS]).default('json'),
    )
    .option('--tenant <id>', 'only this tenant')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action((opts: { format: ExportFormat; tenant?: string; output?: string }) =>
      withDatabase(async ({ db }) => {
        if (opts.tenant) await getTenant(db.knex, opts.tenant);
        await settleAudit(db.knex, { tenantId: opts.tenant });
        const out = opts.output ? createWriteStream(opts.output, { mode: 0o600 }) : process.stdout;
        const bar = progressBar(await countAuditEvents(db.knex, opts.tenant), 'exporting');
        try {
          await exportAudit(db.knex, {
            format: opts.format,
            tenantId: opts.tenant,
            out,
            onEvent: () => bar.tick(),
          });
        } finally {
          bar.stop();
        }
        if (opts.output) {
          out.end();
          await once(out, 'finish');
        }
      }),
    );

  audit
    .command('checkpoint')
    .description('print the signed checkpoints as JSON lines (keep them outside the database)')
    .option('--tenant <id>', 'only this tenant')
    .option('--create', 'sign a checkpoint of every chain that grew since its last one first')
    .action((opts: { tenant?: string; create?: boolean }) =>
      withDatabase(async ({ db, config }) => {
        if (opts.tenant) await getTenant(db.knex, opts.tenant);
        if (opts.create) {
          const key = loadSigningKey(config.AUDIT_SIGNING_KEY_FILE, { create: true })!;
          await settleAudit(db.knex, { tenantId: opts.tenant });
          await createCheckpoints(db.knex, key, { tenantId: opts.tenant });
        }
        for (const c of await listCheckpoints(db.knex, opts.tenant))
          process.stdout.write(`${JSON.stringify(c)}\n`);
      }),
    );

  audit
    .command('erase')
    .description(
      "erase a person's personal data from audit payloads (GDPR); the chain stays verifiable",
    )
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--subject <id>', 'the user id whose data is erased')
    .requiredOption('--reason <text>', 'why (the request or ticket); recorded in the erasure event')
    .option('--json', 'print JSON')
    .action((opts: { tenant: string; subject: string; reason: string; json?: boolean }) =>
      withDatabase(async ({ db, actor }) => {
        await getTenant(db.knex, opts.tenant);
        const erased = await eraseSubject(db.knex, opts.tenant, opts.subject, {
          actor,
          reason: opts.reason,
        });
        if (opts.json) printJson({ erased });
        else console.log(`erased ${erased} payload${erased === 1 ? '' : 's'}`);
      }),
    );
}
