// A person signs in with a real browser (issue 15): headless Chromium (Debian's
// `chromium`, driven by playwright-core) goes from /login, by email domain, to the
// in-process OpenID Provider's login form, back through the callback to /me, and signs
// out. Without /usr/bin/chromium (a laptop without it) the test is skipped and says so;
// CI installs it (.ci/browser-up.sh).
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { chromium, type Browser } from 'playwright-core';
import type { CreatedTenant } from '../../src/tenancy/index.js';
import { apiClient } from '../support/api.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { CLIENT_ID, CLIENT_SECRET, startOp, type TestOp } from '../support/oidc-op.js';
import { scimClient, userBody } from '../support/scim.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) console.warn(`sso-browser: ${CHROMIUM} not found, skipped (.ci/browser-up.sh)`);

let db: TestDb;
let tenant: CreatedTenant;
let op: TestOp;
let server: Server;
let rp: string;
let browser: Browser;

(available ? describe : describe.skip)('signing in with a browser', () => {
  beforeAll(async () => {
    db = await openTestDb();
    tenant = await newTenant(db.knex, 'Browser');
    let origin = 'http://127.0.0.1';
    const app = testApp(db.knex, undefined, {
      publicUrl: () => origin,
      sso: { secretKey: new Uint8Array(randomBytes(32)), settings: { allowInsecureHttp: true } },
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    origin = rp = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const api = apiClient(app, tenant.apiToken);
    const connectionId = (
      await api
        .post('/sso/connections', {
          type: 'oidc',
          issuer: 'http://127.0.0.1/not-yet',
          clientId: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
          linkBy: 'email',
          domains: ['browser.example'],
        })
        .expect(201)
    ).body.id;
    op = await startOp(() => [`${rp}/sso/oidc/${connectionId}/callback`]);
    await api.patch(`/sso/connections/${connectionId}`, { issuer: op.issuer }).expect(200);
    await scimClient(app, tenant.scimToken)
      .post('/Users', userBody('ada@browser.example'))
      .expect(201);
    op.accounts.set('ada', { email: 'ada@browser.example', email_verified: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await op?.close();
    await new Promise((r) => server.close(r));
    await db.close();
  });

  test('from /login by email, through the OP, to /me; then signing out', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${rp}/login`);
    await page.fill('input[name=email]', 'ada@browser.example');
    await page.click('button[type=submit]');
    // The OP's own login form (oidc-provider's development interaction).
    await page.waitForURL(`${op.issuer}/interaction/**`);
    await page.fill('input[name=login]', 'ada');
    await page.fill('input[name=password]', 'any');
    await page.click('button[type=submit]');
    await page.waitForURL(`${rp}/me`);
    expect(await page.textContent('main')).toContain('Signed in as ada@browser.example');
    const cookie = (await context.cookies(rp)).find((c) => c.name === 'sk_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax' });

    await page.click('text=Sign out');
    await page.waitForURL(`${rp}/login`);
    expect((await context.cookies(rp)).some((c) => c.name === 'sk_session')).toBe(false);
    await page.goto(`${rp}/me`);
    expect(page.url()).toBe(`${rp}/login?returnTo=%2Fme`);
    await context.close();
  });
});
