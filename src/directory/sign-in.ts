// What single sign-on asks of the directory (issue 15): which mirrored user an identity
// provider's assertion names (by email, userName or externalId). A sign-in's activity
// goes through recordActivity (activity.ts), like every other activity.
import type { Knex } from 'knex';

export type SignInKey = 'email' | 'userName' | 'externalId';

export interface SignInCandidate {
  id: string;
  userName: string;
  active: boolean;
}

/**
 * The users an identity names, at most two (two means the link is ambiguous). Emails and
 * userNames compare case-insensitively (RFC 7643 §4.1.1 for userName; the domain part of
 * an address is case-insensitive and IdPs differ in the local part's case); an email
 * matches any of the user's `emails` values, or a userName that is that address.
 * externalId compares exactly (RFC 7643 §3.1: the provisioning client's own identifier).
 */
export async function usersForSignIn(
  db: Knex,
  tenantId: string,
  by: SignInKey,
  value: string,
): Promise<SignInCandidate[]> {
  const q = db('directory_users').where({ tenant_id: tenantId }).limit(2);
  if (by === 'externalId') q.where({ external_id: value });
  else if (by === 'userName') q.where({ user_name_lower: value.toLowerCase() });
  else {
    const email = value.toLowerCase();
    q.where((w) =>
      w.where({ user_name_lower: email }).orWhereRaw(
        `EXISTS (SELECT 1 FROM jsonb_array_elements(CASE jsonb_typeof(data->'emails')
                     WHEN 'array' THEN data->'emails' ELSE '[]'::jsonb END) e
                    WHERE lower(e->>'value') = ?)`,
        [email],
      ),
    );
  }
  const rows = (await q.select('user_id', 'user_name', 'active')) as Array<{
    user_id: string;
    user_name: string;
    active: boolean;
  }>;
  return rows.map((r) => ({ id: r.user_id, userName: r.user_name, active: r.active }));
}

/** A user's id and userName, for the signed-in user's own page. */
export async function userSummary(
  db: Knex,
  tenantId: string,
  userId: string,
): Promise<SignInCandidate | undefined> {
  const r = (await db('directory_users')
    .where({ tenant_id: tenantId, user_id: userId })
    .first('user_id', 'user_name', 'active')) as
    { user_id: string; user_name: string; active: boolean } | undefined;
  return r && { id: r.user_id, userName: r.user_name, active: r.active };
}
