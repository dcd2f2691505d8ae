// The subject index becomes a hash index. It serves one query, erasure's
// `subject_id = ?`, and subjects are people's ids, which arrive in no useful order: a
// full reconcile's 100,000 seat events (one subject each) made 100,000 random insertions
// into the b-tree on (tenant_id, subject_id), splitting pages across the whole index. A
// hash index answers the same equality with a fixed-size hash per entry, and
// inserting the same rows cost a third of the b-tree's (bench/RESULTS.md §9). The tenant
// is checked on the rows found, as it is for any other index condition.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX audit_events_subject_idx;
    CREATE INDEX audit_events_subject_idx ON audit_events USING hash (subject_id)
      WHERE subject_id IS NOT NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX audit_events_subject_idx;
    CREATE INDEX audit_events_subject_idx ON audit_events (tenant_id, subject_id)
      WHERE subject_id IS NOT NULL;
  `);
}
