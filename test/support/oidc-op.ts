// A real OpenID Provider in-process (oidc-provider), for the RP tests (issue 15): code
// flow with PKCE, its own dev login form, keys made at test time. Its answers can be
// tampered with on the wire (`tamperToken`, `tamperDiscovery`) to play the OpenID RP
// conformance plan's misbehaving OP: the RP must refuse what a bad OP sends.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider from 'oidc-provider';

export interface Account {
  email?: string;
  email_verified?: boolean;
  preferred_username?: string;
}

export interface TestOp {
  issuer: string;
  /** The OP's current signing key (private JWK), to forge tokens "signed by the OP". */
  signingKey: JWK;
  accounts: Map<string, Account>;
  tamperToken: ((body: Record<string, unknown>) => unknown) | null;
  tamperDiscovery: ((doc: Record<string, unknown>) => unknown) | null;
  tamperUserinfo: ((body: Record<string, unknown>) => unknown) | null;
  /** Public keys of registered clients by client id, served at `${issuer}/client-jwks/{id}`. */
  clientJwks: Map<string, JWK[]>;
  /** Start signing with a new key (the OP rotates; the old one leaves its JWKS). */
  rotateKey(): Promise<void>;
  close(): Promise<void>;
}

export const CLIENT_ID = 'seatkeeper-test';
export const CLIENT_SECRET = 'a-client-secret-long-enough-for-hs256-0123456789';

async function signingJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return {
    ...(await exportJWK(privateKey)),
    kid: `k-${Math.random().toString(36).slice(2)}`,
    alg: 'ES256',
    use: 'sig',
  };
}

/**
 * `extraClients`: more registered clients (oidc-provider client metadata, RFC 7591), read
 * whenever the OP is (re)built, given its issuer; e.g. one authenticating with
 * private_key_jwt, whose keys are then put in `clientJwks`.
 */
export async function startOp(
  redirectUris: () => string[],
  extraClients: (issuer: string) => Array<Record<string, unknown>> = () => [],
): Promise<TestOp> {
  let handler: http.RequestListener = (_req, res) => res.end();
  const server = http.createServer((req, res) => handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const accounts = new Map<string, Account>();

  const make = (key: JWK) => {
    // oidc-provider warns about its quick-start adapter and dev login form at every
    // construction: exactly what a test OP uses.
    const { warn, info } = console;
    console.warn = console.info = () => {};
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          redirect_uris: redirectUris(),
          id_token_signed_response_alg: 'ES256',
        },
        ...(extraClients(issuer) as Array<{ client_id: string }>),
      ],
      jwks: { keys: [key] },
      cookies: { keys: ['test-cookie-key'] },
      claims: { email: ['email', 'email_verified'], profile: ['preferred_username'] },
      pkce: { required: () => true },
      ttl: { Interaction: 600, Grant: 3600, Session: 3600, AccessToken: 600, IdToken: 600 },
      async findAccount(_ctx, id) {
        const account = accounts.get(id);
        if (!account) return undefined;
        return { accountId: id, claims: () => ({ sub: id, ...account }) };
      },
      // Consent is not what these tests are about: every client is granted what it asks.
      async loadExistingGrant(ctx) {
        const grant = new ctx.oidc.provider.Grant({
          clientId: ctx.oidc.client!.clientId,
          accountId: ctx.oidc.session!.accountId!,
        });
        grant.addOIDCScope('openid email profile');
        await grant.save();
        return grant;
      },
    });
    console.warn = warn;
    console.info = info;
    return provider.callback();
  };

  const op: TestOp = {
    issuer,
    signingKey: await signingJwk(),
    accounts,
    tamperToken: null,
    tamperDiscovery: null,
    tamperUserinfo: null,
    clientJwks: new Map(),
    async rotateKey() {
      op.signingKey = await signingJwk();
      install();
    },
    close: () => new Promise((r) => server.close(() => r())),
  };

  const install = () => {
    const inner = make(op.signingKey);
    handler = (req, res) => {
      const path = req.url?.split('?')[0];
      // Registered clients' public keys (jwks_uri), for private_key_jwt clients. Served
      // rather than registered inline: oidc-provider copies client metadata, and under
      // jest's module realms an inline JWKS no longer looks like a plain object to it.
      const keys = path?.startsWith('/client-jwks/') ? op.clientJwks.get(path.slice(13)) : null;
      if (keys) {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys }));
        return;
      }
      const tamper =
        req.method === 'POST' && path === '/token'
          ? op.tamperToken
          : path === '/.well-known/openid-configuration'
            ? op.tamperDiscovery
            : path === '/me'
              ? op.tamperUserinfo
              : null;
      if (tamper) {
        const end = res.end.bind(res) as (chunk?: unknown) => http.ServerResponse;
        res.end = ((chunk?: unknown) => {
          if (chunk === undefined || res.statusCode !== 200) return end(chunk);
          const out = JSON.stringify(tamper(JSON.parse(String(chunk))));
          res.setHeader('content-length', Buffer.byteLength(out));
          return end(out);
        }) as typeof res.end;
      }
      inner(req, res);
    };
  };
  install();
  return op;
}

/** What the OP's dev login form posts to sign in as `accountId` (any password). */
export function loginForm(accountId: string) {
  return { prompt: 'login', login: accountId, password: 'irrelevant' };
}
