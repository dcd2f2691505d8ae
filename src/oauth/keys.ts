// The keys access tokens are signed with (issue 15): Ed25519 (EdDSA, RFC 8037) JWKs
// kept outside the database in one file (OAUTH_SIGNING_KEY_FILE, 0600, generated on
// first use), newest first, at most MAX_KEYS. The newest signs; every key in the file
// is published at /.well-known/jwks.json and accepted, so after a rotation
// (`seatkeeper oauth rotate-key`, which puts a new key first and keeps the previous one)
// tokens signed by the previous key stay valid until they expire: the overlap. Every
// replica looks at the file again at most every RELOAD_MS, so a rotation reaches them
// all without a restart. A rotation keeps one previous key: rotate again only after
// TOKEN_TTL_S, or the tokens it signed stop working early.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createLocalJWKSet, importJWK, type JWK, type JWTVerifyGetKey } from 'jose';
import { AppError } from '../shared/errors.js';
import { loadKeyFile } from '../shared/key-file.js';

export const MAX_KEYS = 2;
const RELOAD_MS = 10_000;
export const SIGNING_ALG = 'EdDSA';

function newJwk(): JWK {
  const { privateKey } = generateKeyPairSync('ed25519');
  return {
    ...(privateKey.export({ format: 'jwk' }) as JWK),
    kid: randomUUID(),
    alg: SIGNING_ALG,
    use: 'sig',
  };
}

function parse(text: string, file: string): JWK[] {
  const keys = JSON.parse(text) as JWK[];
  if (!Array.isArray(keys) || keys.length === 0 || keys.some((k) => !k.d || !k.kid)) {
    throw new AppError('oauth_key_invalid', `${file} does not hold a list of private JWKs`);
  }
  return keys.slice(0, MAX_KEYS);
}

const publicOf = ({ d: _d, ...pub }: JWK): JWK => pub;

export class SigningKeys {
  private keys: JWK[];
  private jwks: JWTVerifyGetKey;
  private checkedAt = Date.now();
  private mtimeMs = 0;

  constructor(
    keys: JWK[],
    private readonly file?: string,
    /** How often, at most, the file is looked at again (tests: 0). */
    private readonly reloadMs = RELOAD_MS,
  ) {
    this.keys = keys;
    this.jwks = createLocalJWKSet({ keys: keys.map(publicOf) });
    if (file) this.mtimeMs = statSync(file).mtimeMs;
  }

  /** Re-read the file when it changed (a rotation), at most every reloadMs. */
  private refresh(): void {
    if (!this.file || Date.now() - this.checkedAt < this.reloadMs) return;
    this.checkedAt = Date.now();
    const mtimeMs = statSync(this.file).mtimeMs;
    if (mtimeMs === this.mtimeMs) return;
    this.mtimeMs = mtimeMs;
    this.keys = parse(readFileSync(this.file, 'utf8'), this.file);
    this.jwks = createLocalJWKSet({ keys: this.keys.map(publicOf) });
  }

  /** Keys in memory only (tests, and a service told to keep none on disk). */
  static ephemeral(): SigningKeys {
    return new SigningKeys([newJwk()]);
  }

  /** The key file, created with one key when absent. */
  static fromFile(file: string, reloadMs = RELOAD_MS): SigningKeys {
    const first = newJwk();
    const keys = loadKeyFile(file, {
      create: true,
      parse: (text) => parse(text, file),
      generate: () => `${JSON.stringify([first])}\n`,
    })!;
    return new SigningKeys(keys, file, reloadMs);
  }

  /** Put a new key first, keep the previous one (the overlap), drop older ones. */
  static rotate(file: string): JWK {
    const current = parse(readFileSync(file, 'utf8'), file);
    const fresh = newJwk();
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify([fresh, ...current].slice(0, MAX_KEYS))}\n`, {
      mode: 0o600,
    });
    renameSync(tmp, file);
    return publicOf(fresh);
  }

  /** The published set (RFC 7517 §5). */
  publicJwks(): { keys: JWK[] } {
    this.refresh();
    return { keys: this.keys.map(publicOf) };
  }

  async signingKey(): Promise<{ kid: string; key: Awaited<ReturnType<typeof importJWK>> }> {
    this.refresh();
    const jwk = this.keys[0]!;
    return { kid: jwk.kid!, key: await importJWK(jwk, SIGNING_ALG) };
  }

  /** For jose's jwtVerify: the key a token names, re-reading the file on a miss. */
  readonly verifyKey: JWTVerifyGetKey = (header, token) => {
    this.refresh();
    return this.jwks(header, token);
  };
}
