// Property: the SQL that computes desired seats (nested groups through a recursive CTE
// that stops on cycles, rule filters, licence restrictions, best rule per user and
// licence, one licence per product) agrees with a plain reference written over the same random directory.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { desiredSeats, type RuleRow } from '../../src/licensing/desired.js';
import { ENTERPRISE_USER } from '../../src/directory/index.js';
import { withTenant } from '../../src/db/tenant-scope.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';

let db: TestDb;
beforeAll(async () => {
  db = await openTestDb();
});
afterAll(() => db.close());

const DEPTS = ['Design', 'Eng', 'Sales'];

const world = fc.record({
  users: fc.array(fc.record({ active: fc.boolean(), dept: fc.constantFrom(...DEPTS, null) }), {
    minLength: 1,
    maxLength: 12,
  }),
  groups: fc.integer({ min: 1, max: 6 }),
  // Edges may form cycles: the CTE must still terminate and agree.
  groupEdges: fc.array(fc.tuple(fc.nat(5), fc.nat(5)), { maxLength: 8 }),
  userEdges: fc.array(fc.tuple(fc.nat(5), fc.nat(11)), { maxLength: 25 }),
  licences: fc.array(fc.record({ depts: fc.subarray(DEPTS) }), { minLength: 1, maxLength: 3 }),
  rules: fc.array(
    fc.record({
      licence: fc.nat(2),
      group: fc.nat(5),
      filterDept: fc.option(fc.constantFrom(...DEPTS)),
      priority: fc.integer({ min: 0, max: 3 }),
    }),
    { minLength: 1, maxLength: 5 },
  ),
});

test('desired seats in SQL equal the reference over random directories, rules and licences', async () => {
  const tenant = await newTenant(db.knex, 'Desired property');
  // The world is written as the tables' owner; desiredSeats runs as the service does.
  const k = db.owner;
  const now = new Date();
  const [product] = await k('products')
    .insert({
      tenant_id: tenant.id,
      product_id: randomUUID(),
      name: 'P',
      created_at: now,
      updated_at: now,
    })
    .returning('product_id');
  await fc.assert(
    fc.asyncProperty(world, async (w) => {
      await k('license_rules').where({ tenant_id: tenant.id }).del();
      await k('directory_memberships').where({ tenant_id: tenant.id }).del();
      await k('directory_groups').where({ tenant_id: tenant.id }).del();
      await k('directory_users').where({ tenant_id: tenant.id }).del();
      await k('licenses').where({ tenant_id: tenant.id }).del();

      const users = w.users.map((u) => ({ ...u, id: randomUUID() }));
      await k('directory_users').insert(
        users.map((u, i) => ({
          tenant_id: tenant.id,
          user_id: u.id,
          user_name: `u${i}@x.test`,
          active: u.active,
          data: JSON.stringify({
            userName: `u${i}@x.test`,
            ...(u.dept ? { [ENTERPRISE_USER]: { department: u.dept } } : {}),
          }),
          created_at: now,
          last_modified: now,
        })),
      );
      const groups = Array.from({ length: w.groups }, () => randomUUID());
      await k('directory_groups').insert(
        groups.map((g, i) => ({
          tenant_id: tenant.id,
          group_id: g,
          display_name: `g${i}`,
          data: '{}',
          created_at: now,
          last_modified: now,
        })),
      );
      const edges = new Map<string, { group: string; member: string; type: string }>();
      for (const [a, b] of w.groupEdges) {
        const ga = groups[a % w.groups]!;
        const gb = groups[b % w.groups]!;
        if (ga !== gb) edges.set(`${ga}${gb}`, { group: ga, member: gb, type: 'Group' });
      }
      for (const [g, u] of w.userEdges) {
        const gid = groups[g % w.groups]!;
        const uid = users[u % users.length]!.id;
        edges.set(`${gid}${uid}`, { group: gid, member: uid, type: 'User' });
      }
      if (edges.size)
        await k('directory_memberships').insert(
          [...edges.values()].map((e) => ({
            tenant_id: tenant.id,
            group_id: e.group,
            member_id: e.member,
            member_type: e.type,
            added_at: now,
          })),
        );
      const licences = w.licences.map((l) => ({ ...l, id: randomUUID() }));
      await k('licenses').insert(
        licences.map((l, i) => ({
          tenant_id: tenant.id,
          license_id: l.id,
          product_id: product.product_id,
          name: `L${i}`,
          type: 'subscription',
          quantity: 5,
          restrictions: JSON.stringify(l.depts.length ? { departments: l.depts } : {}),
          created_at: now,
          updated_at: now,
        })),
      );
      const rules: RuleRow[] = w.rules.map((r) => ({
        rule_id: randomUUID(),
        license_id: licences[r.licence % licences.length]!.id,
        group_id: groups[r.group % w.groups]!,
        filter: r.filterDept ? `${ENTERPRISE_USER}:department eq "${r.filterDept}"` : null,
        priority: r.priority,
        removal_grace_days: 0,
      }));
      await k('license_rules').insert(
        rules.map((r) => ({ tenant_id: tenant.id, ...r, created_at: now, updated_at: now })),
      );

      const sql = await withTenant(db.knex, tenant.id, (trx) =>
        desiredSeats(
          trx,
          tenant.id,
          rules,
          licences.map((l) => l.id),
          null,
        ),
      );

      // The reference: walk the membership graph from each rule's group.
      const under = (root: string) => {
        const seen = new Set([root]);
        const queue = [root];
        const found = new Set<string>();
        while (queue.length) {
          const g = queue.shift()!;
          for (const e of edges.values()) {
            if (e.group !== g) continue;
            if (e.type === 'User') found.add(e.member);
            else if (!seen.has(e.member)) {
              seen.add(e.member);
              queue.push(e.member);
            }
          }
        }
        return found;
      };
      const best = new Map<string, RuleRow>();
      for (const r of rules) {
        const licence = licences.find((l) => l.id === r.license_id)!;
        for (const uid of under(r.group_id)) {
          const u = users.find((x) => x.id === uid)!;
          if (!u.active) continue;
          if (licence.depts.length && !licence.depts.includes(u.dept ?? '')) continue;
          if (r.filter && u.dept !== w.rules[rules.indexOf(r)]!.filterDept) continue;
          const key = `${r.license_id}:${uid}`;
          const cur = best.get(key);
          if (
            !cur ||
            r.priority < cur.priority ||
            (r.priority === cur.priority && r.rule_id < cur.rule_id)
          )
            best.set(key, r);
        }
      }
      // One seat per product (issue 14; all licences here are of one product and state no
      // cost): per user, the licence whose best rule has the best priority, then the
      // lowest licence id.
      const chosen = new Map<string, RuleRow>();
      for (const [key, r] of best) {
        const uid = key.split(':')[1]!;
        const cur = chosen.get(uid);
        if (
          !cur ||
          r.priority < cur.priority ||
          (r.priority === cur.priority && r.license_id < cur.license_id)
        )
          chosen.set(uid, r);
      }
      const expected = [...chosen.entries()]
        .map(([uid, r]) => `${r.license_id}:${uid}:${r.rule_id}`)
        .sort();
      expect(sql.map((d) => `${d.licenseId}:${d.userId}:${d.ruleId}`).sort()).toEqual(expected);
    }),
    { numRuns: 40, seed: 4242 },
  );
});
