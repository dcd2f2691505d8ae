// The token rows a process has just read, kept for a moment so that an IdP pushing
// hundreds of requests a second with one token does not pay a database round trip per
// request to learn what it learnt a few milliseconds ago.
//
// What is kept is the row (scope, secret hash, revocation time), never a verdict: every
// request still hashes its secret and compares it in constant time, and a row is kept
// only once a presented secret matched it (a guess costs a lookup, as before).
//
// Revocation: an entry lives `ttlMs` from the moment its row was read, so a revocation
// committed at T is seen everywhere by T + ttlMs. `seatkeeper token revoke` waits that
// long before it says the token is refused (src/cli/commands/tenant.ts), which keeps its
// promise across processes and replicas without a channel between them.
import type { Scope } from './tokens.js';

export interface TokenRow {
  scope: Scope;
  secret_hash: Buffer;
  revoked_at: Date | null;
}

/** Entries beyond this evict the oldest: bounded memory whatever the traffic. */
const MAX_ENTRIES = 10_000;

export class TokenCache {
  private readonly rows = new Map<string, { row: TokenRow; expires: number }>();

  constructor(
    readonly ttlMs: number,
    /** Monotonic milliseconds; tests inject their own. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The fresh cached row of a token, if any. */
  get(tokenId: string): TokenRow | undefined {
    const hit = this.rows.get(tokenId);
    if (!hit) return undefined;
    if (hit.expires > this.now()) return hit.row;
    this.rows.delete(tokenId);
    return undefined;
  }

  /** Remember a row read at `readAt` (taken before the read, so the entry never outlives its TTL). */
  set(tokenId: string, row: TokenRow, readAt: number): void {
    if (this.ttlMs <= 0) return;
    this.rows.delete(tokenId);
    this.rows.set(tokenId, { row, expires: readAt + this.ttlMs });
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
