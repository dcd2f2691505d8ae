// The directory mirror that identity providers push over SCIM: users (core + enterprise
// extension), groups, and memberships (a group's members are users or groups).
//
// `data` holds the resource as SCIM JSON (core attributes and extension objects keyed by
// their schema URN) without id, meta, password, groups or members; the columns beside it
// are the attributes that are unique, indexed or looked up by every request.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE directory_users (
      tenant_id     uuid NOT NULL REFERENCES tenants (tenant_id),
      user_id       uuid NOT NULL,
      user_name     text NOT NULL CHECK (length(user_name) BETWEEN 1 AND 512),
      external_id   text,
      active        boolean NOT NULL DEFAULT true,
      data          jsonb NOT NULL,
      version       bigint NOT NULL DEFAULT 1,
      created_at    timestamptz NOT NULL,
      last_modified timestamptz NOT NULL,
      -- From SSO sign-ins and licence heartbeats (reclamation of inactive seats).
      last_active_at timestamptz,
      PRIMARY KEY (tenant_id, user_id)
    );
    -- RFC 7643 §4.1: userName is unique and caseExact=false, so uniqueness ignores case.
    CREATE UNIQUE INDEX directory_users_user_name_key ON directory_users (tenant_id, lower(user_name));
    CREATE INDEX directory_users_external_id_idx ON directory_users (tenant_id, external_id);
    CREATE INDEX directory_users_last_modified_idx ON directory_users (tenant_id, last_modified, user_id);

    CREATE TABLE directory_groups (
      tenant_id     uuid NOT NULL REFERENCES tenants (tenant_id),
      group_id      uuid NOT NULL,
      display_name  text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 512),
      external_id   text,
      data          jsonb NOT NULL,
      version       bigint NOT NULL DEFAULT 1,
      created_at    timestamptz NOT NULL,
      last_modified timestamptz NOT NULL,
      PRIMARY KEY (tenant_id, group_id)
    );
    CREATE INDEX directory_groups_display_name_idx ON directory_groups (tenant_id, lower(display_name));
    CREATE INDEX directory_groups_external_id_idx ON directory_groups (tenant_id, external_id);

    CREATE TABLE directory_memberships (
      tenant_id   uuid NOT NULL,
      group_id    uuid NOT NULL,
      member_id   uuid NOT NULL,
      member_type text NOT NULL CHECK (member_type IN ('User', 'Group')),
      added_at    timestamptz NOT NULL,
      PRIMARY KEY (tenant_id, group_id, member_id),
      FOREIGN KEY (tenant_id, group_id) REFERENCES directory_groups (tenant_id, group_id) ON DELETE CASCADE
    );
    -- "Which groups is this user in" (User.groups, nested-group expansion, reconciliation).
    CREATE INDEX directory_memberships_member_idx ON directory_memberships (tenant_id, member_id);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE directory_memberships;
    DROP TABLE directory_groups;
    DROP TABLE directory_users;
  `);
}
