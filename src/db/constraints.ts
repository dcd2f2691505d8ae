// Database constraint names mapped to error codes, in one place: a unique violation
// becomes a clear 409 wherever it happens, with no check-then-insert race. Each door
// renders the code in its own format (SCIM's `uniqueness` scimType: src/scim/errors.ts).
import { AppError } from '../shared/errors.js';

interface PgError {
  code?: string;
  constraint?: string;
}

const UNIQUE: Record<string, { code: string; message: string }> = {
  directory_users_user_name_key: {
    code: 'uniqueness',
    message: 'a user with this userName already exists',
  },
  directory_users_pkey: {
    code: 'uniqueness',
    message: 'a user with this id already exists',
  },
  seats_one_live_per_user_key: {
    code: 'conflict',
    message: 'the user already holds or waits for a seat of this licence',
  },
  directory_groups_pkey: {
    code: 'uniqueness',
    message: 'a group with this id already exists',
  },
};

/** Rethrow a database error as an AppError when it is a known constraint; else as is. */
export function mapConstraintError(err: unknown): never {
  const e = err as PgError;
  if (e?.code === '23505' && e.constraint && UNIQUE[e.constraint]) {
    const m = UNIQUE[e.constraint]!;
    throw new AppError(m.code, m.message, { status: 409, cause: err });
  }
  throw err;
}

export async function withConstraintErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    return mapConstraintError(err);
  }
}
