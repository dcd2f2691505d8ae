// A SAML sign-in ends with the IdP's cross-site POST to the ACS, which carries no
// SameSite=Lax session cookie: the browser's previous session could not be revoked there,
// as a new sign-in must (session fixation; issue 15, "rotated at sign-in"). So the
// SP-initiated start, a same-site navigation that does carry the cookie, notes which
// live session the browser had (its tenant and id, never its secret), and the ACS
// revokes that one.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE sso_login_requests
      ADD COLUMN previous_session_tenant uuid,
      ADD COLUMN previous_session_id uuid;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE sso_login_requests
      DROP COLUMN previous_session_tenant,
      DROP COLUMN previous_session_id;
  `);
}
