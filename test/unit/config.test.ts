import { ConfigError, loadConfig } from '../../src/config/index.js';

const base = { NODE_ENV: 'test' } as NodeJS.ProcessEnv;

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  test('defaults come from config/default.json and config/<env>.json', () => {
    const c = loadConfig(base);
    expect(c.PORT).toBe(8080);
    expect(c.JOBS_POLL_INTERVAL_MS).toBe(100); // config/test.json
    expect(c.DATABASE_URL).toBeUndefined();
  });

  test('environment variables override files and are coerced to their types', () => {
    const c = loadConfig({ ...base, PORT: '9191', JOBS_ENABLED: 'false', DATA_DIR: '/tmp/sk-x' });
    expect(c.PORT).toBe(9191);
    expect(c.JOBS_ENABLED).toBe(false);
    expect(c.DATA_DIR).toBe('/tmp/sk-x');
    expect(c.AUDIT_SIGNING_KEY_FILE).toBe('/tmp/sk-x/keys/audit-signing-key.pem');
  });

  test('a non-numeric port fails with a message naming the key and the value', () => {
    const problems = problemsOf({ ...base, PORT: 'eighty' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^PORT: must be a number \(got "eighty"\)$/);
  });

  test('an out-of-range value names the bound', () => {
    expect(problemsOf({ ...base, PORT: '70000' })[0]).toMatch(/^PORT: must be at most 65535/);
    expect(problemsOf({ ...base, DB_POOL_MAX: '0' })[0]).toMatch(
      /^DB_POOL_MAX: must be at least 1/,
    );
  });

  test('every bad key is reported at once', () => {
    const problems = problemsOf({ ...base, PORT: 'x', LOG_LEVEL: 'loud', JOBS_ENABLED: 'maybe' });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'JOBS_ENABLED',
      'LOG_LEVEL',
      'PORT',
    ]);
  });

  test('a database URL that is not postgres:// is refused without echoing it (it may hold a password)', () => {
    const problems = problemsOf({ ...base, DATABASE_URL: 'mysql://root:hunter2@db/x' });
    expect(problems[0]).toMatch(/^DATABASE_URL: must be a postgres/);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  test('an unknown NODE_ENV is refused', () => {
    expect(problemsOf({ NODE_ENV: 'staging' })[0]).toMatch(/^NODE_ENV: must be one of/);
  });

  test('an empty variable counts as unset', () => {
    expect(loadConfig({ ...base, DATABASE_URL: '' }).DATABASE_URL).toBeUndefined();
  });

  test('webhooks to private addresses: refused by default in production, allowed elsewhere, and as set (issue 14)', () => {
    expect(loadConfig({ NODE_ENV: 'production' }).WEBHOOK_ALLOW_PRIVATE_URLS).toBe(false);
    expect(loadConfig(base).WEBHOOK_ALLOW_PRIVATE_URLS).toBe(true);
    expect(
      loadConfig({ NODE_ENV: 'production', WEBHOOK_ALLOW_PRIVATE_URLS: 'true' })
        .WEBHOOK_ALLOW_PRIVATE_URLS,
    ).toBe(true);
    expect(
      loadConfig({ ...base, WEBHOOK_ALLOW_PRIVATE_URLS: 'off' }).WEBHOOK_ALLOW_PRIVATE_URLS,
    ).toBe(false);
    expect(problemsOf({ ...base, WEBHOOK_ALLOW_PRIVATE_URLS: 'maybe' })[0]).toMatch(
      /^WEBHOOK_ALLOW_PRIVATE_URLS: must be true or false/,
    );
  });

  test('JSON logs by default in production, readable logs elsewhere', () => {
    expect(loadConfig({ NODE_ENV: 'production' }).LOG_FORMAT).toBe('json');
    expect(loadConfig(base).LOG_FORMAT).toBe('pretty');
  });
});

describe('issue 12 settings', () => {
  test('defaults: no public URL (the listening origin), no proxy trusted, metrics open', () => {
    const c = loadConfig(base);
    expect(c.PUBLIC_URL).toBeUndefined();
    expect(c.TRUST_PROXY).toBe(false);
    expect(c.METRICS_TOKEN).toBeUndefined();
    expect(c.AUTH_FAILURE_LIMIT_PER_MINUTE).toBe(60);
    expect(c.DATABASE_CONNECT_TIMEOUT_MS).toBe(30_000);
  });

  test('PUBLIC_URL must be an http(s) URL; a trailing slash is dropped', () => {
    expect(loadConfig({ ...base, PUBLIC_URL: 'https://sk.example.com/base/' }).PUBLIC_URL).toBe(
      'https://sk.example.com/base',
    );
    expect(problemsOf({ ...base, PUBLIC_URL: 'javascript:alert(1)' })[0]).toMatch(/^PUBLIC_URL:/);
    expect(problemsOf({ ...base, PUBLIC_URL: 'https://x.example/?a=b' })[0]).toMatch(
      /^PUBLIC_URL:/,
    );
  });

  test('TRUST_PROXY takes what express takes', () => {
    const trust = (v: string) => loadConfig({ ...base, TRUST_PROXY: v }).TRUST_PROXY;
    expect(trust('true')).toBe(true);
    expect(trust('false')).toBe(false);
    expect(trust('2')).toBe(2);
    expect(trust('loopback, 10.0.0.0/8')).toBe('loopback, 10.0.0.0/8');
  });

  test('a short METRICS_TOKEN is refused without echoing it', () => {
    const problems = problemsOf({ ...base, METRICS_TOKEN: 'short-secret' });
    expect(problems[0]).toMatch(/^METRICS_TOKEN: must be at least 16 characters$/);
  });
});
