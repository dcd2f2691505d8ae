// What every key operation runs with: the database, the tenant, who acts, the clock and
// the key that opens the tenant's private signing keys.
import type { Knex } from 'knex';
import type { Actor } from '../audit/index.js';
import type { Clock } from '../shared/clock.js';

export interface KeysContext {
  knex: Knex;
  tenantId: string;
  actor: Actor;
  clock: Clock;
  /** KEY_ENCRYPTION_KEY: opens the private halves of the signing keys. */
  kek: Uint8Array;
}

/** The one licence key type (RFC 7515 §4.1.9: `typ`, explicit typing per RFC 8725 §3.11). */
export const KEY_TYP = 'seatkeeper-license+jwt';
/** Ed25519 (RFC 8037 §3.1); no other algorithm is ever accepted. */
export const KEY_ALG = 'EdDSA';
