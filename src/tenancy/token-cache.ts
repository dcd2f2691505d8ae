// The tokens a process has just verified, kept for a moment so that an IdP pushing
// hundreds of requests a second with one token does not pay a database round trip per
// request to learn what it learnt a few milliseconds ago.
//
// The key is the SHA-256 of the whole presented token, never a part of it: an entry is
// found only by presenting, byte for byte, a token whose secret was checked against its
// stored row. What is kept is that row's facts (tenant, token id, scope, revocation
// time), so everything a request is authorised by comes from the database, never from
// the presented string (issue 12: keyed by token id alone, a token of tenant B with A's
// id spliced in was accepted as A while B's entry was warm).
//
// Revocation: an entry lives `ttlMs` from the moment its row was read, so a revocation
// committed at T is seen everywhere by T + ttlMs. `seatkeeper token revoke` waits that
// long before it says the token is refused (src/cli/commands/tenant.ts), which keeps its
// promise across processes and replicas without a channel between them.
import type { Scope } from './tokens.js';

/** What a verified token's stored row says: the only source of a request's tenant and scope. */
export interface VerifiedToken {
  tenantId: string;
  tokenId: string;
  scope: Scope;
  revokedAt: Date | null;
}

/** Entries beyond this evict the oldest: bounded memory whatever the traffic. */
const MAX_ENTRIES = 10_000;

export class TokenCache {
  private readonly rows = new Map<string, { token: VerifiedToken; expires: number }>();

  constructor(
    readonly ttlMs: number,
    /** Monotonic milliseconds; tests inject their own. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The fresh entry for a presented token's hash (hex), if any. */
  get(presentedHash: string): VerifiedToken | undefined {
    const hit = this.rows.get(presentedHash);
    if (!hit) return undefined;
    if (hit.expires > this.now()) return hit.token;
    this.rows.delete(presentedHash);
    return undefined;
  }

  /** Remember a verified token read at `readAt` (taken before the read, so the entry never outlives its TTL). */
  set(presentedHash: string, token: VerifiedToken, readAt: number): void {
    if (this.ttlMs <= 0) return;
    this.rows.delete(presentedHash);
    this.rows.set(presentedHash, { token, expires: readAt + this.ttlMs });
    if (this.rows.size > MAX_ENTRIES) this.rows.delete(this.rows.keys().next().value!);
  }

  /** When a row read now would be taken to have been read. */
  clock(): number {
    return this.now();
  }

  get size(): number {
    return this.rows.size;
  }
}
