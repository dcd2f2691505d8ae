// Secrets kept outside the database (the audit trail's signing and MAC keys, the SSO
// secrets key) live in files, 0600 in a 0700 directory, generated on first use. One
// reader for all: read and parse the file; or, asked to create it, write a new key with
// O_EXCL, and if another process (a replica, a CLI run) got there first, use theirs.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export function loadKeyFile<K>(
  file: string,
  opts: {
    create: boolean;
    /** The file's text as a key; throws when it is not one. */
    parse: (text: string) => K;
    /** A new key's file text. */
    generate: () => string;
  },
): K | null {
  try {
    return opts.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (!opts.create) return null;
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const text = opts.generate();
  try {
    writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return opts.parse(readFileSync(file, 'utf8'));
  }
  return opts.parse(text);
}
