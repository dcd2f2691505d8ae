import os from 'node:os';
import path from 'node:path';

/** A migrated embedded database, made once per jest run by global-setup. */
export const SNAPSHOT_FILE = path.join(
  os.tmpdir(),
  `seatkeeper-test-snapshot-${process.env.SK_TEST_RUN ?? 'local'}.tar.gz`,
);
