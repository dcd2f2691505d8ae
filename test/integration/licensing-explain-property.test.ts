// Property (issue 13): what explain tells each user is what the reconciler did. Over
// random small directories (users with a department, a country and an active flag;
// nested groups, cycles included), rules (with and without filters, priorities, removal
// grace) and licences (quantities including unlimited and zero, site licences, full
// policies, restrictions, terms in force or not), after a full reconcile, then a second
// one after memberships, attributes and active flags changed:
//   - explain lists exactly the user's live seats in the seats table, in their state and
//     through their rule;
//   - for every licence a rule reaches the user for and no seat is held, explain gives
//     the reason a reference model (below, in plain TypeScript) gives, never "eligible";
//   - a waiting seat waits because its pool is full, by the seats table's count, at the
//     place in line the table gives it;
//   - a seat in its removal grace names the rule's group by its displayName and, when
//     the user left it, says so (the drift issue 13 found).
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { explainUser } from '../../src/licensing/explain.js';
import { reconcileTenant } from '../../src/licensing/full-reconcile.js';
import { ENTERPRISE_USER } from '../../src/directory/index.js';
import { fixedClock } from '../../src/shared/clock.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant, testActor } from '../support/fixtures.js';

let db: TestDb;
beforeAll(async () => {
  db = await openTestDb();
});
afterAll(() => db.close());

const DEPTS = ['Design', 'Eng', 'Sales'];
const COUNTRIES = ['FR', 'DE', 'us'];
const TERMS = ['open', 'expired', 'future', 'in_grace'] as const;
const START = '2026-06-01T09:00:00.000Z';
const DAY = 86_400_000;

/** A restriction list, mostly empty (restricting nothing). */
const sometimes = (list: fc.Arbitrary<string[]>) =>
  fc.oneof({ weight: 3, arbitrary: fc.constant([] as string[]) }, { weight: 1, arbitrary: list });

const user = fc.record({
  active: fc.constantFrom(true, true, true, false),
  dept: fc.constantFrom(...DEPTS, null),
  country: fc.constantFrom(...COUNTRIES, null),
});
const world = fc.record({
  users: fc.array(user, { minLength: 1, maxLength: 8 }),
  groups: fc.integer({ min: 1, max: 5 }),
  groupEdges: fc.array(fc.tuple(fc.nat(4), fc.nat(4)), { maxLength: 6 }),
  userEdges: fc.array(fc.tuple(fc.nat(4), fc.nat(7)), { minLength: 3, maxLength: 24 }),
  licences: fc.array(
    fc.record({
      site: fc.boolean(),
      quantity: fc.option(fc.nat(3), { freq: 4 }),
      overdeploy: fc.option(fc.nat(2), { freq: 2 }),
      depts: sometimes(fc.subarray(DEPTS, { minLength: 1 })),
      countries: sometimes(fc.subarray(['FR', 'US'], { minLength: 1 })),
      term: fc.constantFrom(...TERMS, 'open', 'open', 'open', 'open'),
    }),
    { minLength: 1, maxLength: 3 },
  ),
  rules: fc.array(
    fc.record({
      licence: fc.nat(2),
      group: fc.nat(4),
      filterDept: fc.option(fc.constantFrom(...DEPTS), { freq: 3 }),
      priority: fc.integer({ min: 0, max: 3 }),
      grace: fc.constantFrom(0, 7),
    }),
    { minLength: 1, maxLength: 5 },
  ),
  // Between the two reconciles: memberships removed, departments and active flags changed.
  removed: fc.array(fc.nat(19), { maxLength: 6 }),
  moved: fc.array(fc.tuple(fc.nat(7), fc.constantFrom(...DEPTS, null)), { maxLength: 3 }),
  flipped: fc.array(fc.nat(7), { maxLength: 2 }),
});
type World = typeof world extends fc.Arbitrary<infer T> ? T : never;

/** The licence's term columns, relative to `now`. */
function termColumns(term: (typeof TERMS)[number], now: Date) {
  const at = (days: number) => new Date(now.getTime() + days * DAY);
  if (term === 'expired') return { ends_at: at(-30), grace_days: 0 };
  if (term === 'future') return { starts_at: at(30) };
  if (term === 'in_grace') return { ends_at: at(-2), grace_days: 10 };
  return {};
}

test('explain tells every user what the reconciler did, over random directories, rules and licences (issue 13)', async () => {
  // The service's role runs the code under test; the world is written and read back as
  // the tables' owner.
  const k = db.knex;
  await fc.assert(
    fc.asyncProperty(world, async (w: World) => {
      const clock = fixedClock(START);
      const now = clock.now();
      const tenant = await newTenant(k, `Explain property ${randomUUID()}`);
      const t = tenant.id;
      const ctx = { knex: k, tenantId: t, actor: testActor, clock };

      // ---- the directory ----
      const users = w.users.map((u) => ({ ...u, id: randomUUID() }));
      const userData = (u: (typeof users)[number]) =>
        JSON.stringify({
          userName: `${u.id}@x.test`,
          ...(u.dept ? { [ENTERPRISE_USER]: { department: u.dept } } : {}),
          ...(u.country ? { addresses: [{ country: u.country, primary: true }] } : {}),
        });
      await db.owner('directory_users').insert(
        users.map((u) => ({
          tenant_id: t,
          user_id: u.id,
          user_name: `${u.id}@x.test`,
          active: u.active,
          data: userData(u),
          created_at: now,
          last_modified: now,
        })),
      );
      const groups = Array.from({ length: w.groups }, () => randomUUID());
      await db.owner('directory_groups').insert(
        groups.map((g, i) => ({
          tenant_id: t,
          group_id: g,
          display_name: `g${i}`,
          data: '{}',
          created_at: now,
          last_modified: now,
        })),
      );
      const edges = new Map<string, { group: string; member: string; type: string }>();
      for (const [a, b] of w.groupEdges) {
        const [ga, gb] = [groups[a % w.groups]!, groups[b % w.groups]!];
        if (ga !== gb) edges.set(`${ga}${gb}`, { group: ga, member: gb, type: 'Group' });
      }
      const userEdgeKeys: string[] = [];
      for (const [g, u] of w.userEdges) {
        const [gid, uid] = [groups[g % w.groups]!, users[u % users.length]!.id];
        edges.set(`${gid}${uid}`, { group: gid, member: uid, type: 'User' });
        userEdgeKeys.push(`${gid}${uid}`);
      }
      const writeEdges = async () => {
        await db.owner('directory_memberships').where({ tenant_id: t }).del();
        if (edges.size)
          await db.owner('directory_memberships').insert(
            [...edges.values()].map((e) => ({
              tenant_id: t,
              group_id: e.group,
              member_id: e.member,
              member_type: e.type,
              added_at: now,
            })),
          );
      };
      await writeEdges();

      // ---- licences and rules ----
      const [product] = await db
        .owner('products')
        .insert({
          tenant_id: t,
          product_id: randomUUID(),
          name: 'P',
          created_at: now,
          updated_at: now,
        })
        .returning('product_id');
      const licences = w.licences.map((l) => ({ ...l, id: randomUUID() }));
      await db.owner('licenses').insert(
        licences.map((l, i) => ({
          tenant_id: t,
          license_id: l.id,
          product_id: product.product_id,
          name: `L${i}`,
          type: l.site ? 'site' : 'subscription',
          quantity: l.quantity,
          full_policy: l.overdeploy === null ? 'waitlist' : 'overdeploy',
          overdeploy_limit: l.overdeploy ?? 0,
          restrictions: JSON.stringify({
            ...(l.depts.length ? { departments: l.depts } : {}),
            ...(l.countries.length ? { countries: l.countries } : {}),
          }),
          ...termColumns(l.term, now),
          created_at: now,
          updated_at: now,
        })),
      );
      const rules = w.rules.map((r, i) => ({
        rule_id: randomUUID(),
        name: `r${i}`,
        license_id: licences[r.licence % licences.length]!.id,
        group_id: groups[r.group % w.groups]!,
        filter: r.filterDept ? `${ENTERPRISE_USER}:department eq "${r.filterDept}"` : null,
        filterDept: r.filterDept,
        priority: r.priority,
        removal_grace_days: r.grace,
      }));
      await db.owner('license_rules').insert(
        rules.map(({ filterDept: _f, ...r }) => ({
          tenant_id: t,
          ...r,
          created_at: now,
          updated_at: now,
        })),
      );

      await reconcileTenant(k, t, ctx);

      // ---- the directory changes; a day later, the full reconcile again ----
      for (const i of w.removed) {
        const key = userEdgeKeys[i % Math.max(1, userEdgeKeys.length)];
        if (key) edges.delete(key);
      }
      await writeEdges();
      for (const [i, dept] of w.moved) users[i % users.length]!.dept = dept;
      for (const i of w.flipped) users[i % users.length]!.active = !users[i % users.length]!.active;
      for (const u of users)
        await db
          .owner('directory_users')
          .where({ tenant_id: t, user_id: u.id })
          .update({ active: u.active, data: userData(u) });
      clock.advance(DAY);
      await reconcileTenant(k, t, ctx);

      // ---- the reference: who a rule reaches, and its verdict, in plain TypeScript ----
      const groupsOf = (uid: string) => {
        const found = new Set<string>();
        const queue = [...edges.values()].filter((e) => e.member === uid).map((e) => e.group);
        while (queue.length) {
          const g = queue.shift()!;
          if (found.has(g)) continue;
          found.add(g);
          for (const e of edges.values()) if (e.member === g) queue.push(e.group);
        }
        return found;
      };
      const inForce = (l: (typeof licences)[number]) => l.term === 'open' || l.term === 'in_grace';
      const verdict = (u: (typeof users)[number], r: (typeof rules)[number]) => {
        const l = licences.find((x) => x.id === r.license_id)!;
        if (!u.active) return 'deprovisioned';
        if (!inForce(l)) return 'not_in_force';
        if (l.depts.length && !l.depts.includes(u.dept ?? '')) return 'department';
        if (l.countries.length && !l.countries.includes((u.country ?? '').toUpperCase()))
          return 'country';
        if (r.filterDept && u.dept !== r.filterDept) return 'filter';
        return 'eligible';
      };
      const rank = (r: (typeof rules)[number], v: string) =>
        [v === 'eligible' ? 0 : 1, r.priority, r.rule_id] as const;
      const seatsNow = await db
        .owner('seats')
        .where({ tenant_id: t })
        .whereNot('state', 'released');
      const occupied = (lid: string) =>
        seatsNow.filter(
          (s) => s.license_id === lid && (s.state === 'active' || s.state === 'pending_reclaim'),
        ).length;

      for (const u of users) {
        const explained = await explainUser(ctx, u.id);
        const mine = groupsOf(u.id);
        // What the reconciler did (the seats table), and for licences without a seat,
        // the reference's reason; against what explain says.
        const did = new Map<string, string>();
        const said = new Map<string, string>();
        for (const s of seatsNow.filter((s) => s.user_id === u.id))
          did.set(s.license_id, `${s.state} via ${s.rule_id}`);
        const reachingOf = (lid: string) =>
          rules
            .filter((r) => r.license_id === lid && mine.has(r.group_id))
            .map((r) => ({ r, v: verdict(u, r) }))
            .sort((a, b) => {
              const [x, y] = [rank(a.r, a.v), rank(b.r, b.v)];
              return x[0] - y[0] || x[1] - y[1] || (x[2] < y[2] ? -1 : 1);
            });
        // Every licence here is of one product, none states a cost: of those the user is
        // eligible for, the best rule priority, then the lowest licence id gives the seat.
        const first = licences
          .map((l) => ({ id: l.id, best: reachingOf(l.id)[0] }))
          .filter((x) => x.best?.v === 'eligible')
          .sort((a, b) => a.best!.r.priority - b.best!.r.priority || (a.id < b.id ? -1 : 1))[0];
        for (const l of licences) {
          if (did.has(l.id)) continue;
          const best = reachingOf(l.id)[0];
          if (!best) continue;
          const v = best.v === 'eligible' && first && first.id !== l.id ? 'duplicate' : best.v;
          did.set(l.id, `not: ${v} via ${best.r.rule_id}`);
        }
        for (const s of explained.seats) said.set(s.licenseId, `${s.state} via ${s.ruleId}`);
        for (const n of explained.notSeated)
          said.set(n.licenseId, `not: ${reasonOf(n.reason)} via ${n.ruleId}`);
        expect(said).toEqual(did);

        for (const s of explained.seats) {
          const rule = rules.find((r) => r.rule_id === s.ruleId)!;
          const group = `group 'g${groups.indexOf(rule.group_id)}'`;
          if (s.state === 'active') {
            expect(s.explanation).toContain(
              `via rule '${rule.name}' because the user is in ${group}`,
            );
            expect(mine.has(rule.group_id)).toBe(true);
          }
          if (s.state === 'pending_reclaim' && !u.active) {
            // Deprovisioned (issue 14): the licence's reclaim grace, undone by reactivation.
            expect(s.explanation).toMatch(
              new RegExp(
                `via rule '${rule.name}'; the user is deprovisioned; reclaim on \\d{4}-\\d\\d-\\d\\d unless reactivated`,
              ),
            );
          } else if (s.state === 'pending_reclaim') {
            expect(s.explanation).toContain(`via rule '${rule.name}'; no longer eligible`);
            if (!mine.has(rule.group_id))
              expect(s.explanation).toContain(`removed from ${group} and is no longer in it`);
          }
          if (s.state === 'waitlisted') {
            const l = licences.find((x) => x.id === s.licenseId)!;
            const capacity = l.site || l.quantity === null ? Infinity : l.quantity;
            // Waiting means full: no free seat, over-deployment allowance included.
            expect(occupied(l.id)).toBeGreaterThanOrEqual(capacity + (l.overdeploy ?? 0));
            expect(s.explanation).toContain(
              `the pool is full (${occupied(l.id)} of ${capacity} in use): number ${s.position} in line`,
            );
            const line = seatsNow
              .filter((x) => x.license_id === l.id && x.state === 'waitlisted')
              .sort(
                (a, b) =>
                  a.eligible_since - b.eligible_since ||
                  a.queue_priority - b.queue_priority ||
                  (a.seat_id < b.seat_id ? -1 : 1),
              );
            expect(line.findIndex((x) => x.seat_id === s.seatId) + 1).toBe(s.position);
          }
        }
      }
    }),
    { numRuns: 60, seed: 1313 },
  );
});

/** The verdict an explanation's words name. */
function reasonOf(reason: string): string {
  if (reason.startsWith('eligible')) return 'eligible';
  if (reason.startsWith('deprovisioned')) return 'deprovisioned';
  if (reason.startsWith('restricted: department')) return 'department';
  if (reason.startsWith('restricted: country')) return 'country';
  if (reason.startsWith("the rule's filter")) return 'filter';
  if (reason.startsWith('the licence has')) return 'not_in_force';
  if (reason.startsWith('duplicate:')) return 'duplicate';
  return reason;
}
