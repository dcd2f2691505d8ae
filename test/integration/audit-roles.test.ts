// Issue 12: the audit trail must not accept forgeries from the service's own database
// role. Each test is named after the attack it proves impossible. `db.knex` serves as
// seatkeeper_app, exactly as the service's pool does; `db.owner` is the migrating owner,
// a superuser here, standing for an attacker with full database access.
import type { Knex } from 'knex';
import { withTenant } from '../../src/db/tenant-scope.js';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { appendAuditEvents } from '../../src/audit/append.js';
import { listCheckpoints } from '../../src/audit/checkpoint.js';
import { eraseSubject } from '../../src/audit/erase.js';
import { settleAudit, startSettler } from '../../src/audit/settle.js';
import { loadSigningKey, type SigningKey } from '../../src/audit/signing-key.js';
import { verifyTenantChain } from '../../src/audit/verify.js';
import { fixedClock } from '../../src/shared/clock.js';
import { forgedEventRow } from '../support/forge.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant, testActor } from '../support/fixtures.js';
import { quietLogger } from '../support/app.js';

let db: TestDb;
let keyDir: string;
let key: SigningKey;
const clock = fixedClock(new Date('2026-12-01T12:00:00.000Z'));
beforeAll(async () => {
  db = await openTestDb();
  keyDir = await mkdtemp(path.join(os.tmpdir(), 'sk-roles-'));
  key = loadSigningKey(path.join(keyDir, 'checkpoint.pem'), { create: true })!;
});
afterAll(async () => {
  await db.close();
  await rm(keyDir, { recursive: true, force: true });
});

const trusted = () => new Map([[key.keyId, key.publicKey]]);
// Refused for want of the privilege, not for want of a tenant: every attack below runs
// in a transaction scoped to the tenant it aims at, as a compromised service could.
const refused = expect.objectContaining({
  code: '42501',
  message: expect.stringMatching(/permission denied/),
});
const as = <T>(tenantId: string, fn: (k: Knex.Transaction) => Promise<T>) =>
  withTenant(db.knex, tenantId, fn);

async function tenantWithEvents(n: number): Promise<string> {
  const { id } = await newTenant(db.knex);
  if (n > 0)
    await as(id, (trx) =>
      appendAuditEvents(
        trx,
        id,
        Array.from({ length: n }, (_, i) => ({
          action: 'seat.assigned',
          actor: testActor,
          target: { type: 'seat', id: `s-${i}` },
          subject: `user-${i}`,
          payload: { user: `user-${i}@example.com` },
        })),
        clock,
      ),
    );
  return id;
}

const forged = (tenantId: string, seq: number, prevHash: string) =>
  // A MAC has to be made up: the database does not hold the key.
  forgedEventRow(tenantId, seq, prevHash, { at: clock.now(), mac: 'made-up' });

describe('the service role (seatkeeper_app) cannot forge or hide audit events (issue 12)', () => {
  test('it is not a superuser, does not own the tables, and cannot bypass row-level security', async () => {
    const { rows } = (await db.knex.raw(
      `SELECT current_user AS who, r.rolsuper, r.rolbypassrls, r.rolcreaterole, r.rolcreatedb
         FROM pg_roles r WHERE r.rolname = current_user`,
    )) as { rows: Array<Record<string, unknown>> };
    expect(rows[0]).toEqual({
      who: 'seatkeeper_app',
      rolsuper: false,
      rolbypassrls: false,
      rolcreaterole: false,
      rolcreatedb: false,
    });
    const owners = (await db
      .knex('pg_tables')
      .where({ schemaname: db.schema })
      .distinct('tableowner')
      .pluck('tableowner')) as string[];
    expect(owners.length).toBeGreaterThan(0);
    expect(owners).not.toContain('seatkeeper_app');
    // Nor is it a member of the owner's role (it cannot SET ROLE to it).
    const { rows: member } = (await db.knex.raw(
      `SELECT pg_has_role('seatkeeper_app', ?, 'MEMBER') AS m`,
      [owners[0]!],
    )) as { rows: Array<{ m: boolean }> };
    expect(member[0]!.m).toBe(false);
  });

  test('forging a queued event: a direct INSERT into audit_pending is refused', async () => {
    const t = await tenantWithEvents(0);
    const { mac: _mac, seq: _s, prev_hash: _p, hash: _h, ...row } = forged(t, 4, '0'.repeat(64));
    await expect(as(t, (k) => k('audit_pending').insert(row))).rejects.toEqual(refused);
  });

  test('forging a queued event through the queue view: without a valid MAC it is never chained, and verify reports it', async () => {
    const t = await tenantWithEvents(1);
    const { mac, seq: _s, prev_hash: _p, hash: _h, ...row } = forged(t, 5, '0'.repeat(64));
    await as(t, (k) => k('audit_queue').insert({ ...row, mac }));
    // A genuine event queued after it is still chained.
    await as(t, async (trx) => {
      await appendAuditEvents(trx, t, [
        { action: 'token.revoked', actor: testActor, target: { type: 'token', id: 'x' } },
      ]);
    });
    await settleAudit(db.knex, { tenantId: t });
    const chained = (await db
      .owner('audit_events')
      .where({ tenant_id: t })
      .pluck('event_id')) as string[];
    expect(chained).not.toContain(row.event_id);
    expect(chained).toHaveLength(5);
    expect(await verifyTenantChain(db.knex, t)).toMatchObject({
      ok: false,
      events: 5,
      pending: 1,
      rejectedPending: 1,
      firstBroken: { reason: 'queued_mac_invalid', eventId: row.event_id },
    });
  });

  test('hiding a queued event: DELETE FROM audit_pending is refused', async () => {
    const t = await tenantWithEvents(0);
    await expect(as(t, (k) => k('audit_pending').del())).rejects.toEqual(refused);
    await expect(as(t, (k) => k('audit_queue').del())).rejects.toEqual(refused);
  });

  test('erasing a payload without an erasure event: an UPDATE of audit_events is refused', async () => {
    const t = await tenantWithEvents(2);
    await expect(
      as(t, (k) =>
        k('audit_events')
          .where({ tenant_id: t, subject_id: 'user-0' })
          .update({ body: null, salt: null, erased_at: clock.now() }),
      ),
    ).rejects.toEqual(refused);
    // audit_payloads is gone (migration 600): the payload lives in the event row.
    expect(await db.knex.schema.hasTable('audit_payloads')).toBe(false);
  });

  test('erasing through audit_erase without an event naming the actor and a reason is refused', async () => {
    const t = await tenantWithEvents(2);
    const { rows } = (await as(t, (k) =>
      k.raw(`SELECT seq, hash FROM audit_heads WHERE tenant_id = ?`, [t]),
    )) as { rows: Array<{ seq: number; hash: string }> };
    const event = {
      event_id: randomUUID(),
      occurred_at: clock.now().toISOString(),
      actor_type: 'user',
      actor_id: 'mallory',
      action: 'seat.assigned',
      target_type: 'subject',
      target_id: 'user-0',
      body: JSON.stringify({ payloadsErased: 1 }),
    };
    await expect(
      as(t, (trx) =>
        trx.raw(`SELECT audit_erase(?, ?, ?, ?, ?::json)`, [
          t,
          'user-0',
          rows[0]!.seq,
          rows[0]!.hash,
          JSON.stringify(event),
        ]),
      ),
    ).rejects.toEqual(
      expect.objectContaining({
        code: '42501',
        message: expect.stringMatching(/payload_erased event/),
      }),
    );
  });

  test('an erasure writes its own audit.payload_erased event naming who and why, in the same transaction', async () => {
    const t = await tenantWithEvents(2);
    const erased = await eraseSubject(
      db.knex,
      t,
      'user-1',
      { actor: { type: 'user', id: 'dpo' }, reason: 'ticket GDPR-42' },
      clock,
    );
    expect(erased).toBe(1);
    const last = (await db
      .owner('audit_events')
      .where({ tenant_id: t })
      .orderBy('seq', 'desc')
      .first()) as Record<string, unknown>;
    expect(last).toMatchObject({
      action: 'audit.payload_erased',
      actor_type: 'user',
      actor_id: 'dpo',
      target_type: 'subject',
      target_id: 'user-1',
      body: { reason: 'ticket GDPR-42', payloadsErased: 1 },
    });
    expect(await verifyTenantChain(db.knex, t)).toMatchObject({ ok: true });
  });

  test('appending a forged event: INSERT into audit_events is refused', async () => {
    const t = await tenantWithEvents(1);
    await expect(
      as(t, (k) => k('audit_events').insert(forged(t, 5, 'b'.repeat(64)))),
    ).rejects.toEqual(refused);
  });

  test('moving a chain head: UPDATE audit_heads is refused', async () => {
    const t = await tenantWithEvents(1);
    await expect(
      as(t, (k) =>
        k('audit_heads')
          .where({ tenant_id: t })
          .update({ seq: 1, hash: 'c'.repeat(64) }),
      ),
    ).rejects.toEqual(refused);
    await expect(as(t, (k) => k('audit_heads').where({ tenant_id: t }).del())).rejects.toEqual(
      refused,
    );
  });

  test('forging or removing checkpoints: writes to audit_checkpoints are refused', async () => {
    const t = await tenantWithEvents(1);
    await expect(
      as(t, (k) =>
        k('audit_checkpoints').insert({
          tenant_id: t,
          seq: 1,
          head_hash: 'd'.repeat(64),
          signed_at: clock.now(),
          key_id: 'k',
          signature: 's',
        }),
      ),
    ).rejects.toEqual(refused);
  });

  test('appending through audit_chain with a made-up MAC: verify names the forgery', async () => {
    const t = await tenantWithEvents(1);
    const head = (await db.owner('audit_heads').where({ tenant_id: t }).first()) as {
      seq: number;
      hash: string;
    };
    const f = forged(t, head.seq + 1, head.hash);
    await as(t, (trx) =>
      trx.raw(`SELECT audit_chain(?, ?, ?, ?::json)`, [
        t,
        head.seq,
        head.hash,
        JSON.stringify([{ ...f, occurred_at: f.occurred_at.toISOString() }]),
      ]),
    );
    expect(await verifyTenantChain(db.knex, t)).toMatchObject({
      ok: false,
      firstBroken: { seq: head.seq + 1, eventId: f.event_id, reason: 'mac_mismatch' },
    });
  });
});

describe('the staging table of bulk appends gives the service role nothing more than audit_chain does', () => {
  const STAGING_COLUMNS = `event_id uuid, occurred_at timestamptz, actor_type text, actor_id text,
    action text, target_type text, target_id text, payload_digest text, subject_id text,
    salt bytea, body jsonb, mac text, seq bigint, prev_hash text, hash text`;
  // Refused for want of ownership or privilege (DROP and ALTER say "must be owner").
  const notTheirs = expect.objectContaining({ code: '42501' });
  const headOf = async (t: string) =>
    (await db.owner('audit_heads').where({ tenant_id: t }).first()) as {
      seq: number;
      hash: string;
    };

  test('reading, changing or emptying staged events is refused: the role may only insert', async () => {
    const t = await tenantWithEvents(0);
    await as(t, async (trx) => {
      await trx.raw('SELECT audit_stage()');
      await trx.raw('SAVEPOINT s');
      for (const sql of [
        'SELECT * FROM pg_temp.audit_staging',
        'DELETE FROM pg_temp.audit_staging',
        'UPDATE pg_temp.audit_staging SET seq = 1',
        'TRUNCATE pg_temp.audit_staging',
        'DROP TABLE pg_temp.audit_staging',
        'ALTER TABLE pg_temp.audit_staging ADD COLUMN x int',
      ]) {
        await expect(trx.raw(sql)).rejects.toEqual(notTheirs);
        await trx.raw('ROLLBACK TO SAVEPOINT s');
      }
    });
  });

  test('a staging table of its own (which could carry a trigger run with the owner’s rights) is refused', async () => {
    const t = await tenantWithEvents(1);
    const head = await headOf(t);
    await as(t, async (trx) => {
      await trx.raw(`CREATE TEMPORARY TABLE audit_staging (${STAGING_COLUMNS}) ON COMMIT DROP`);
      await trx.raw('SAVEPOINT s');
      await expect(trx.raw('SELECT audit_stage()')).rejects.toEqual(notTheirs);
      await trx.raw('ROLLBACK TO SAVEPOINT s');
      await expect(
        trx.raw('SELECT audit_chain_staged(?, ?, ?)', [t, head.seq, head.hash]),
      ).rejects.toEqual(notTheirs);
    });
    expect(await verifyTenantChain(db.knex, t)).toMatchObject({ ok: true, events: 4 });
  });

  test('staged events that do not follow the head are refused, and the head stays', async () => {
    const t = await tenantWithEvents(1);
    const head = await headOf(t);
    // One past the head's next place: a gap.
    const f = forged(t, head.seq + 2, head.hash);
    await expect(
      as(t, async (trx) => {
        await trx.raw('SELECT audit_stage()');
        await trx.raw(
          `INSERT INTO pg_temp.audit_staging (event_id, occurred_at, actor_type, actor_id, action,
             target_type, target_id, payload_digest, mac, seq, prev_hash, hash)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            f.event_id,
            f.occurred_at,
            f.actor_type,
            f.actor_id,
            f.action,
            f.target_type,
            f.target_id,
            f.payload_digest,
            f.mac,
            f.seq,
            f.prev_hash,
            f.hash,
          ],
        );
        await trx.raw('SELECT audit_chain_staged(?, ?, ?)', [t, head.seq, head.hash]);
      }),
    ).rejects.toMatchObject({ code: '23000' });
    expect(await headOf(t)).toMatchObject(head);
    expect(await verifyTenantChain(db.knex, t)).toMatchObject({ ok: true, events: 4 });
  });
});

describe('an attacker with the whole database (issue 12): the tail is closed by the checkpoints signed every N events', () => {
  async function checkpointedTenant() {
    const t = await tenantWithEvents(4); // 7 events
    // The settler's round: a checkpoint once a chain is 5 events past its last one.
    const settler = startSettler(db.knex, {
      everyMs: 20,
      logger: quietLogger,
      checkpoints: { key, everyEvents: 5, clock },
    });
    const deadline = Date.now() + 10_000;
    while ((await listCheckpoints(db.knex, t)).length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    await settler.stop();
    expect(await listCheckpoints(db.knex, t)).toMatchObject([{ seq: 7 }]);
    return t;
  }

  test('a forged append after the last checkpoint, with the head moved to match, is detected', async () => {
    const t = await checkpointedTenant();
    const head = (await db.owner('audit_heads').where({ tenant_id: t }).first()) as {
      seq: number;
      hash: string;
    };
    const f = forged(t, head.seq + 1, head.hash);
    await db.owner.transaction(async (trx) => {
      await trx('audit_events').insert(f);
      await trx('audit_heads').where({ tenant_id: t }).update({ seq: f.seq, hash: f.hash });
    });
    expect(await verifyTenantChain(db.knex, t, { publicKeys: trusted() })).toMatchObject({
      ok: false,
      firstBroken: { seq: f.seq, eventId: f.event_id, reason: 'mac_mismatch' },
    });
  });

  test('a cut after the checkpoint, with the head rewritten to match, is detected', async () => {
    const t = await checkpointedTenant();
    const keep = (await db.owner('audit_events').where({ tenant_id: t, seq: 5 }).first()) as {
      hash: string;
    };
    await db.owner.transaction(async (trx) => {
      await trx.raw('SET LOCAL session_replication_role = replica');
      await trx('audit_events').where({ tenant_id: t }).where('seq', '>', 5).del();
      await trx('audit_heads').where({ tenant_id: t }).update({ seq: 5, hash: keep.hash });
    });
    expect(await verifyTenantChain(db.knex, t, { publicKeys: trusted() })).toMatchObject({
      ok: false,
      firstBroken: { seq: 6, reason: 'truncated' },
    });
  });
});
