// SAML 2.0 service provider (issue 15) with @node-saml/node-saml 5: SP metadata,
// SP-initiated sign-in over the HTTP-Redirect binding, and the POST binding's ACS.
//
// node-saml checks the XML signature (only the IdP certificates configured, never one
// from KeyInfo; one or two, for rollover), the audience, NotBefore/NotOnOrAfter with
// the configured skew, and InResponseTo against a request cache, here the database
// (sso_login_requests), so every replica knows every request. It leaves to the SP, and
// this module checks on the XML node-saml verified: the Response's Destination and the
// SubjectConfirmationData's Recipient are this connection's ACS URL, the Method is
// bearer, the Issuer is the connection's IdP (SAML 2.0 Profiles §4.1.4.2-3). Accepted
// assertion IDs are kept until they expire, so a replay is refused (§4.1.4.5).
import { DOMParser } from '@xmldom/xmldom';
import { SAML, ValidateInResponseTo, type CacheProvider, type Profile } from '@node-saml/node-saml';
import xpath from 'xpath';
import { withTenant } from '../db/tenant-scope.js';
import { connectionById, ssoUrls } from './connections.js';
import type { SsoContext } from './context.js';
import { FLOW_TTL_MS, saveFlow } from './flows.js';
import type { SamlSettings, StoredConnection } from './model.js';
import { SignInRefused } from './refusal.js';
import { safeReturnTo } from './return-to.js';
import { revokeSessionById, sessionFromCookie } from './sessions.js';
import type { SessionRef } from './flows.js';
import { auditRefusal, finishSignIn, type SignedIn } from './sign-in.js';

const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
/** Where an email may be, after the NameID, in the order they are tried. */
const EMAIL_ATTRIBUTES = [
  'email',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
  'urn:oid:0.9.2342.19200300.100.1.3',
];
/** A SAMLResponse larger than this is refused before it is parsed. */
export const MAX_SAML_RESPONSE_BYTES = 256 * 1024;

async function samlConnection(ctx: SsoContext, connectionId: string): Promise<StoredConnection> {
  const conn = await connectionById(ctx.knex, connectionId);
  if (!conn) throw new SignInRefused('unknown_connection');
  if (conn.type !== 'saml') throw new SignInRefused('wrong_protocol', undefined, 404);
  return conn;
}

/** A request cache in the database, for one connection; `returnTo` is what a hit found. */
function requestCache(
  ctx: SsoContext,
  conn: StoredConnection,
  returnTo: string,
  previousSession: SessionRef | null = null,
): CacheProvider & { found: string | undefined; previous: SessionRef | null } {
  const cache = {
    found: undefined as string | undefined,
    previous: null as SessionRef | null,
    async saveAsync(key: string, value: string) {
      const now = ctx.clock.now();
      await withTenant(ctx.knex, conn.tenantId, (trx) =>
        saveFlow(
          trx,
          conn.tenantId,
          {
            requestId: key,
            connectionId: conn.id,
            browserHash: null,
            codeVerifier: null,
            nonce: null,
            returnTo,
            previousSession,
          },
          now,
        ),
      );
      return { value, createdAt: now.getTime() };
    },
    async getAsync(key: string) {
      const row = (await withTenant(ctx.knex, conn.tenantId, (trx) =>
        trx('sso_login_requests')
          .where({ tenant_id: conn.tenantId, request_id: key, connection_id: conn.id })
          .where('expires_at', '>', ctx.clock.now())
          .first('return_to', 'created_at', 'previous_session_tenant', 'previous_session_id'),
      )) as
        | {
            return_to: string;
            created_at: Date;
            previous_session_tenant: string | null;
            previous_session_id: string | null;
          }
        | undefined;
      if (!row) return null;
      cache.found = row.return_to;
      if (row.previous_session_tenant && row.previous_session_id)
        cache.previous = {
          tenantId: row.previous_session_tenant,
          sessionId: row.previous_session_id,
        };
      return row.created_at.toISOString();
    },
    async removeAsync(key: string | null) {
      if (key === null) return null;
      await withTenant(ctx.knex, conn.tenantId, (trx) =>
        trx('sso_login_requests')
          .where({ tenant_id: conn.tenantId, request_id: key, connection_id: conn.id })
          .del(),
      );
      return key;
    },
  };
  return cache;
}

function samlFor(ctx: SsoContext, conn: StoredConnection, cache: CacheProvider): SAML {
  const s = conn.settings as SamlSettings;
  const urls = ssoUrls(ctx.publicUrl(), conn.id);
  return new SAML({
    callbackUrl: urls.acsUrl,
    entryPoint: s.idpSsoUrl,
    issuer: urls.spEntityId,
    audience: urls.spEntityId,
    idpIssuer: s.idpEntityId,
    idpCert: s.idpCertificates,
    wantAssertionsSigned: s.signed !== 'response',
    wantAuthnResponseSigned: s.signed !== 'assertion',
    validateInResponseTo: conn.idpInitiated
      ? ValidateInResponseTo.ifPresent
      : ValidateInResponseTo.always,
    requestIdExpirationPeriodMs: FLOW_TTL_MS,
    cacheProvider: cache,
    acceptedClockSkewMs: ctx.settings.clockSkewMs,
    identifierFormat: null,
    disableRequestedAuthnContext: true,
    signatureAlgorithm: 'sha256',
  });
}

/** The SP metadata XML an IdP is configured from (SAML 2.0 Metadata §2.4.4). */
export async function samlMetadata(ctx: SsoContext, connectionId: string): Promise<string> {
  const conn = await samlConnection(ctx, connectionId);
  return samlFor(ctx, conn, requestCache(ctx, conn, '/')).generateServiceProviderMetadata(
    null,
    null,
  );
}

/** Begin: the IdP's SSO URL with a deflated, encoded AuthnRequest (HTTP-Redirect, Bindings §3.4). */
export async function beginSamlSignIn(
  ctx: SsoContext,
  connectionId: string,
  returnTo: unknown,
  sessionCookie?: string,
): Promise<{ redirect: string }> {
  const conn = await samlConnection(ctx, connectionId);
  const target = safeReturnTo(returnTo, ctx.publicUrl());
  // The browser's live session, if any, ends when this sign-in does (flows.ts).
  const current = await sessionFromCookie(ctx, sessionCookie);
  const previous = current ? { tenantId: current.tenantId, sessionId: current.sessionId } : null;
  const saml = samlFor(ctx, conn, requestCache(ctx, conn, target, previous));
  // RelayState is not trusted for the destination: the stored request says where to go.
  return { redirect: await saml.getAuthorizeUrlAsync('', undefined, {}) };
}

const parser = () =>
  new DOMParser({
    // A malformed document is refused, not half-read.
    errorHandler: {
      warning: () => {},
      error: (m: string) => {
        throw new Error(m);
      },
      fatalError: (m: string) => {
        throw new Error(m);
      },
    },
  });

const one = (expr: string, node: Node): string | undefined => {
  const found = xpath.select(expr, node) as Array<{
    nodeValue?: string | null;
    textContent?: string | null;
  }>;
  if (found.length === 0) return undefined;
  return (found[0]!.nodeValue ?? found[0]!.textContent ?? undefined) || undefined;
};
const all = (expr: string, node: Node) => xpath.select(expr, node) as Node[];

const SAML_NS = "namespace-uri()='urn:oasis:names:tc:SAML:2.0:assertion'";
const PROTOCOL_NS = "namespace-uri()='urn:oasis:names:tc:SAML:2.0:protocol'";

/** The checks node-saml leaves to the SP, on what it verified; the assertion's ID and expiry. */
function checkAssertion(
  conn: StoredConnection,
  acsUrl: string,
  responseXml: string,
  assertionXml: string,
): { assertionId: string; expiresAt: Date } {
  const s = conn.settings as SamlSettings;
  const bad = (why: string): never => {
    throw new SignInRefused('response_invalid', why);
  };
  const response = parser().parseFromString(responseXml, 'text/xml').documentElement;
  const assertion = parser().parseFromString(assertionXml, 'text/xml').documentElement;
  if (!response || !assertion) return bad('unreadable XML');
  // Bindings §3.5.5.2: a signed Response carries a Destination, which must be here.
  const destination = response.getAttribute('Destination');
  if (destination !== null && destination !== acsUrl) return bad(`Destination ${destination}`);
  if (destination === null && s.signed !== 'assertion') return bad('no Destination');
  const responseIssuer = one(
    `/*[${PROTOCOL_NS}]/*[local-name()='Issuer' and ${SAML_NS}]/text()`,
    response,
  );
  if (responseIssuer !== undefined && responseIssuer.trim() !== s.idpEntityId) {
    return bad(`Response Issuer ${responseIssuer}`);
  }
  const issuer = one(`/*/*[local-name()='Issuer' and ${SAML_NS}]/text()`, assertion);
  if (issuer?.trim() !== s.idpEntityId) return bad(`Assertion Issuer ${issuer ?? '(none)'}`);
  // Profiles §4.1.4.2: bearer confirmations, with this ACS as Recipient and an expiry.
  const confirmations = all(
    `/*/*[local-name()='Subject']/*[local-name()='SubjectConfirmation' and ${SAML_NS}]`,
    assertion,
  );
  if (confirmations.length === 0) return bad('no SubjectConfirmation');
  let latest = 0;
  for (const c of confirmations) {
    const method = one('@Method', c);
    if (method !== BEARER) return bad(`SubjectConfirmation Method ${method ?? '(none)'}`);
    const recipient = one("*[local-name()='SubjectConfirmationData']/@Recipient", c);
    if (recipient !== acsUrl) return bad(`Recipient ${recipient ?? '(none)'}`);
    const until = one("*[local-name()='SubjectConfirmationData']/@NotOnOrAfter", c);
    if (!until || Number.isNaN(Date.parse(until))) return bad('no NotOnOrAfter');
    latest = Math.max(latest, Date.parse(until));
  }
  const conditionsUntil = one("/*/*[local-name()='Conditions']/@NotOnOrAfter", assertion);
  if (conditionsUntil && !Number.isNaN(Date.parse(conditionsUntil))) {
    latest = Math.max(latest, Date.parse(conditionsUntil));
  }
  const assertionId = assertion.getAttribute('ID');
  if (!assertionId) return bad('no assertion ID');
  return { assertionId, expiresAt: new Date(latest) };
}

function firstString(v: unknown): string | undefined {
  const x = Array.isArray(v) ? v[0] : v;
  return typeof x === 'string' && x.trim() ? x.trim() : undefined;
}

/** The value linkBy names: NameID, or for email an email attribute when NameID is not one. */
function linkValueOf(conn: StoredConnection, profile: Profile): string | undefined {
  const nameId = firstString(profile.nameID);
  if (conn.linkBy !== 'email') return nameId;
  if (nameId && (profile.nameIDFormat === EMAIL_FORMAT || /^[^@\s]+@[^@\s]+$/.test(nameId))) {
    return nameId;
  }
  for (const a of EMAIL_ATTRIBUTES) {
    const v = firstString(profile[a]);
    if (v) return v;
  }
  return undefined;
}

/** Finish: validate the IdP's POSTed answer, link the identity, open a session. */
export async function completeSamlSignIn(
  ctx: SsoContext,
  connectionId: string,
  body: { SAMLResponse?: unknown; RelayState?: unknown },
  previousSession: string | undefined,
): Promise<SignedIn & { returnTo: string }> {
  const conn = await samlConnection(ctx, connectionId);
  const refuse = async (err: SignInRefused, subject?: string): Promise<never> => {
    await auditRefusal(ctx, conn, err, subject);
    throw err;
  };
  const encoded = body.SAMLResponse;
  if (typeof encoded !== 'string' || encoded.length === 0) {
    return refuse(new SignInRefused('response_invalid', 'no SAMLResponse', 400));
  }
  if (encoded.length > (MAX_SAML_RESPONSE_BYTES * 4) / 3 + 4) {
    return refuse(new SignInRefused('response_invalid', 'SAMLResponse too large', 413));
  }
  const responseXml = Buffer.from(encoded, 'base64').toString('utf8');
  // An answer nobody asked for (IdP-initiated) is refused unless the connection allows it.
  if (!conn.idpInitiated) {
    let inResponseTo: string | null;
    try {
      inResponseTo =
        parser()
          .parseFromString(responseXml, 'text/xml')
          .documentElement?.getAttribute('InResponseTo') ?? null;
    } catch {
      return refuse(new SignInRefused('response_invalid', 'unreadable XML', 400));
    }
    if (!inResponseTo)
      return refuse(new SignInRefused('idp_initiated_disabled', 'no InResponseTo'));
  }
  const acsUrl = ssoUrls(ctx.publicUrl(), conn.id).acsUrl;
  const cache = requestCache(ctx, conn, '/');
  let profile: Profile;
  let checked: { assertionId: string; expiresAt: Date };
  try {
    const result = await samlFor(ctx, conn, cache).validatePostResponseAsync({
      SAMLResponse: encoded,
    });
    if (!result.profile) throw new Error('no profile in the response');
    profile = result.profile;
    checked = checkAssertion(conn, acsUrl, responseXml, profile.getAssertionXml!());
  } catch (err) {
    if (err instanceof SignInRefused) return refuse(err);
    return refuse(new SignInRefused('response_invalid', (err as Error).message));
  }
  const subject = firstString(profile.nameID) ?? '(no NameID)';
  // Replay (Profiles §4.1.4.5): each assertion ID once, remembered until it expires.
  const fresh = await withTenant(ctx.knex, conn.tenantId, async (trx) => {
    await trx('sso_assertions')
      .where({ tenant_id: conn.tenantId, connection_id: conn.id })
      .where('expires_at', '<', ctx.clock.now())
      .del();
    const inserted = await trx('sso_assertions')
      .insert({
        tenant_id: conn.tenantId,
        connection_id: conn.id,
        assertion_id: checked.assertionId,
        expires_at: new Date(checked.expiresAt.getTime() + ctx.settings.clockSkewMs),
      })
      .onConflict(['tenant_id', 'connection_id', 'assertion_id'])
      .ignore()
      .returning('assertion_id');
    return inserted.length === 1;
  });
  if (!fresh)
    return refuse(new SignInRefused('replayed', `assertion ${checked.assertionId}`), subject);
  const signedIn = await finishSignIn(
    ctx,
    conn,
    { linkValue: linkValueOf(conn, profile), subject, protocol: 'saml' },
    previousSession,
  );
  if (cache.previous) await revokeSessionById(ctx, cache.previous);
  return { ...signedIn, returnTo: cache.found ?? safeReturnTo(body.RelayState, ctx.publicUrl()) };
}
