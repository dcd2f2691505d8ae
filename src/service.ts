// The service: database, migrations, first tenant, jobs, HTTP, and a graceful stop.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import {
  loadMacKey,
  loadSigningKey,
  type Settler,
  startSettler,
  useAuditMacKey,
} from './audit/index.js';
import { TokenCache } from './tenancy/index.js';
import { loadSsoSecretKey } from './sso/index.js';
import { SigningKeys } from './oauth/index.js';
import { loadKeyEncryptionKey } from './keys/index.js';
import { ensureFirstTenant, firstTenantBanner } from './bootstrap/index.js';
import type { Config } from './config/index.js';
import { openDatabase, type Database } from './db/database.js';
import { migrateUp } from './db/migrate.js';
import { waitForDatabase } from './db/connect.js';
import { createApp } from './app.js';
import { createJobMetrics, serviceJobs } from './jobs/index.js';
import {
  smtpMailer,
  startEmailWorker,
  startWebhookWorker,
  type EmailWorker,
  type WebhookWorker,
} from './notifications/index.js';
import { createScheduler, type Scheduler } from './jobs/index.js';
import type { Logger } from './log/logger.js';
import { systemClock, type Clock } from './shared/clock.js';

export interface Service {
  url: string;
  db: Database;
  /** Stop accepting, finish in-flight requests and jobs, close the database. */
  close(): Promise<void>;
}

export async function startService(
  config: Config,
  deps: { logger: Logger; clock?: Clock; print?: (text: string) => void },
): Promise<Service> {
  const { logger } = deps;
  const clock = deps.clock ?? systemClock;
  const print = deps.print ?? ((text: string) => process.stdout.write(`${text}\n`));
  const started = Date.now();

  if (config.DATABASE_URL) {
    await waitForDatabase(
      { connectionString: config.DATABASE_URL },
      { timeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS, logger },
    );
  }
  const db = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    poolMax: config.DB_POOL_MAX,
    embeddedMaxConnections: config.EMBEDDED_MAX_CONNECTIONS,
    mode: 'service',
    lockWaitMs: config.DATA_DIR_LOCK_WAIT_MS,
    logger,
    onLockCompromised: (err) => {
      // Someone else may now open the directory: stop writing before rows are lost.
      logger.error('the data directory lock was lost; stopping', { error: err.message });
      process.kill(process.pid, 'SIGTERM');
    },
  });
  let scheduler: Scheduler | undefined;
  let settler: Settler | undefined;
  let mail: EmailWorker | undefined;
  let webhooks: WebhookWorker | undefined;
  let server: Server | undefined;
  try {
    // Migrations run as the tables' owner; the service then serves as seatkeeper_app.
    const applied = await db.withOwner((owner) => migrateUp(owner));
    if (applied.length) logger.info('migrations applied', { migrations: applied });
    const signingKey = loadSigningKey(config.AUDIT_SIGNING_KEY_FILE, { create: true })!;
    useAuditMacKey(loadMacKey(config.AUDIT_MAC_KEY_FILE, { create: true })!);

    const keyEncryptionKey = await loadKeyEncryptionKey(db.knex, {
      value: config.KEY_ENCRYPTION_KEY,
      file: config.KEY_ENCRYPTION_KEY_FILE,
    });

    const ssoSecretKey = loadSsoSecretKey(config.SSO_SECRET_KEY_FILE, { create: true })!;
    if (config.SSO_ALLOW_INSECURE_HTTP) {
      logger.warn(
        'SSO_ALLOW_INSECURE_HTTP is on: identity providers over plain http are accepted (demos and tests only)',
      );
    }

    const state = { shuttingDown: false };
    // Absolute URLs use PUBLIC_URL, else the origin this process listens on (set below).
    let origin = config.PUBLIC_URL ?? 'http://localhost';
    // One set of job metrics for the scheduler's runs and the API's, served by /metrics.
    const jobMetrics = createJobMetrics();
    const app = createApp({
      publicUrl: () => origin,
      trustProxy: config.TRUST_PROXY,
      metricsToken: config.METRICS_TOKEN,
      authFailureLimit: config.AUTH_FAILURE_LIMIT_PER_MINUTE,
      knex: db.knex,
      logger,
      bodyLimit: config.BODY_LIMIT_BYTES,
      state,
      tokens: new TokenCache(config.TOKEN_CACHE_TTL_MS),
      signingKey,
      jobMetrics,
      oauthKeys: SigningKeys.fromFile(config.OAUTH_SIGNING_KEY_FILE),
      licenseKeys: {
        kek: keyEncryptionKey,
        validationsPerMinute: config.KEY_VALIDATIONS_PER_MINUTE,
        leaseRequestsPerMinute: config.KEY_LEASE_REQUESTS_PER_MINUTE,
        leaseTtlSeconds: config.LEASE_TTL_SECONDS,
      },
      webhooks: { secretKey: ssoSecretKey, allowPrivateUrls: config.WEBHOOK_ALLOW_PRIVATE_URLS },
      sso: {
        secretKey: ssoSecretKey,
        settings: {
          allowInsecureHttp: config.SSO_ALLOW_INSECURE_HTTP,
          sessionIdleMs: config.SSO_SESSION_IDLE_MS,
          sessionAbsoluteMs: config.SSO_SESSION_ABSOLUTE_MS,
          clockSkewMs: config.SSO_CLOCK_SKEW_MS,
        },
      },
    });

    if (config.SMTP_URL) {
      mail = startEmailWorker(db.knex, smtpMailer(config.SMTP_URL, config.MAIL_FROM), {
        everyMs: config.EMAIL_DELIVERY_INTERVAL_MS,
        clock,
        logger,
      });
    } else logger.info('email is off: SMTP_URL is not set');
    if (config.WEBHOOK_ALLOW_PRIVATE_URLS && config.NODE_ENV === 'production') {
      logger.warn(
        'WEBHOOK_ALLOW_PRIVATE_URLS is on: webhooks may be sent to http and private addresses',
      );
    }
    webhooks = startWebhookWorker(db.knex, {
      everyMs: config.WEBHOOK_DELIVERY_INTERVAL_MS,
      clock,
      logger,
      secretKey: ssoSecretKey,
      allowPrivateUrls: config.WEBHOOK_ALLOW_PRIVATE_URLS,
    });
    settler = startSettler(db.knex, {
      everyMs: config.AUDIT_SETTLE_INTERVAL_MS,
      logger,
      checkpoints: {
        key: signingKey,
        everyEvents: config.AUDIT_CHECKPOINT_EVERY_EVENTS,
        clock,
      },
    });
    if (config.JOBS_ENABLED) {
      scheduler = createScheduler({
        connection: db.connection,
        embedded: db.kind === 'embedded',
        pollMs: config.JOBS_POLL_INTERVAL_MS,
        lockLifetimeMs: config.JOBS_LOCK_LIFETIME_MS,
        logger,
        jobs: serviceJobs({
          knex: db.knex,
          signingKey,
          clock,
          logger,
          checkpointEveryMs: config.AUDIT_CHECKPOINT_INTERVAL_MS,
          reconcileEveryMs: config.RECONCILE_INTERVAL_MS,
          licenceSchedulesEveryMs: config.LICENSE_JOBS_INTERVAL_MS,
          complianceScanEveryMs: config.COMPLIANCE_SCAN_INTERVAL_MS,
          leaseCullEveryMs: config.LEASE_CULL_INTERVAL_MS,
          leaseTtlSeconds: config.LEASE_TTL_SECONDS,
          auditRetentionEveryMs: config.AUDIT_RETENTION_INTERVAL_MS,
          metrics: jobMetrics,
        }),
      });
    }

    const listening = app.listen(config.PORT, config.HOST);
    server = listening;
    await new Promise<void>((resolve, reject) => {
      listening.once('listening', resolve);
      listening.once('error', reject);
    });
    const { port } = listening.address() as AddressInfo;
    const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST;
    const url = `http://${host}:${port}`;
    origin = config.PUBLIC_URL ?? url;

    const first = await ensureFirstTenant(db.knex, config.BOOTSTRAP_TENANT_NAME, clock);
    if (first) print(firstTenantBanner(first, url));
    // The scheduler connects its own pool and looks for due jobs (~0.15 s): the service
    // answers meanwhile, as it does not need its jobs to serve a request.
    await scheduler?.start();
    logger.info('seatkeeper listening', {
      url,
      database: db.kind === 'embedded' ? `embedded (${config.DATA_DIR})` : 'postgres',
      startupMs: Date.now() - started,
      pid: process.pid,
    });

    let closing: Promise<void> | undefined;
    return {
      url,
      db,
      close() {
        closing ??= (async () => {
          state.shuttingDown = true;
          // Stop accepting; let in-flight requests finish; drop idle keep-alive sockets.
          const serverClosed = new Promise<void>((resolve) => listening.close(() => resolve()));
          listening.closeIdleConnections();
          await Promise.all([serverClosed, scheduler?.stop(config.SHUTDOWN_TIMEOUT_MS)]);
          await settler?.stop();
          await mail?.stop();
          await webhooks?.stop();
          await db.close();
          logger.info('seatkeeper stopped');
        })();
        return closing;
      },
    };
  } catch (err) {
    server?.close();
    await settler?.stop().catch(() => undefined);
    await mail?.stop().catch(() => undefined);
    await webhooks?.stop().catch(() => undefined);
    await scheduler?.stop(1000).catch(() => undefined);
    await db.close().catch(() => undefined);
    throw err;
  }
}
