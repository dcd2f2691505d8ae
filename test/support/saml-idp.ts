// A SAML identity provider for the SP tests (issue 15): keys and self-signed
// certificates made at test time (openssl), responses written as XML and signed with
// xml-crypto, the way an IdP signs them (exclusive c14n, RSA-SHA256, enveloped
// signatures after the Issuer). Every field of a response can be overridden, so each
// attack is the honest response with one thing changed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { randomUUID } from 'node:crypto';
import { SignedXml } from 'xml-crypto';

export interface IdpKey {
  privateKey: string;
  cert: string;
}

/** An RSA key and a self-signed certificate for it, made now. */
export function makeIdpKey(cn = 'Test IdP'): IdpKey {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sk-idp-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-sha256',
        '-days',
        '2',
        '-subj',
        `/CN=${cn}`,
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return {
      privateKey: readFileSync(path.join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8').trim(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

export interface ResponseFields {
  responseId: string;
  assertionId: string;
  inResponseTo: string | null;
  destination: string | null;
  responseIssuer: string | null;
  issuer: string;
  nameId: string;
  nameIdFormat: string;
  method: string;
  recipient: string;
  audience: string;
  notBefore: number;
  notOnOrAfter: number;
  attributes: Record<string, string>;
}

export function responseXml(f: ResponseFields): string {
  const irt = f.inResponseTo === null ? '' : ` InResponseTo="${f.inResponseTo}"`;
  const dest = f.destination === null ? '' : ` Destination="${f.destination}"`;
  const now = iso(Date.now());
  const attrs = Object.entries(f.attributes)
    .map(
      ([name, value]) =>
        `<saml:Attribute Name="${name}"><saml:AttributeValue>${value}</saml:AttributeValue></saml:Attribute>`,
    )
    .join('');
  return (
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${f.responseId}" Version="2.0" IssueInstant="${now}"${dest}${irt}>` +
    (f.responseIssuer === null ? '' : `<saml:Issuer>${f.responseIssuer}</saml:Issuer>`) +
    `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    `<saml:Assertion ID="${f.assertionId}" Version="2.0" IssueInstant="${now}">` +
    `<saml:Issuer>${f.issuer}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="${f.nameIdFormat}">${f.nameId}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="${f.method}"><saml:SubjectConfirmationData NotOnOrAfter="${iso(f.notOnOrAfter)}" Recipient="${f.recipient}"${irt}/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${iso(f.notBefore)}" NotOnOrAfter="${iso(f.notOnOrAfter)}"><saml:AudienceRestriction><saml:Audience>${f.audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${now}" SessionIndex="_s${randomUUID()}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    (attrs ? `<saml:AttributeStatement>${attrs}</saml:AttributeStatement>` : '') +
    `</saml:Assertion></samlp:Response>`
  );
}

const C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

function signElement(
  xml: string,
  element: 'Assertion' | 'Response',
  key: IdpKey,
  opts: { keyInfo?: boolean } = {},
): string {
  const sig = new SignedXml({
    privateKey: key.privateKey,
    ...(opts.keyInfo ? { publicCert: key.cert } : {}),
    signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    canonicalizationAlgorithm: C14N,
  });
  sig.addReference({
    xpath: `//*[local-name(.)='${element}']`,
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
    transforms: [ENVELOPED, C14N],
  });
  sig.computeSignature(xml, {
    prefix: 'ds',
    location: {
      reference:
        element === 'Assertion'
          ? "//*[local-name(.)='Assertion']/*[local-name(.)='Issuer']"
          : "/*[local-name(.)='Response']/*[local-name(.)='Issuer']",
      action: 'after',
    },
  });
  return sig.getSignedXml();
}

/** Sign the assertion, the response, or both (assertion first), as IdPs do. */
export function sign(
  xml: string,
  key: IdpKey,
  what: 'assertion' | 'response' | 'both' = 'assertion',
  opts: { keyInfo?: boolean } = {},
): string {
  let out = xml;
  if (what !== 'response') out = signElement(out, 'Assertion', key, opts);
  if (what !== 'assertion') out = signElement(out, 'Response', key, opts);
  return out;
}

/** The AuthnRequest an HTTP-Redirect URL carries (SAML Bindings §3.4.4.1), as XML. */
export function authnRequestOf(url: string): string {
  const raw = new URL(url).searchParams.get('SAMLRequest');
  if (!raw) throw new Error(`no SAMLRequest in ${url}`);
  return inflateRawSync(Buffer.from(raw, 'base64')).toString('utf8');
}

export const requestIdOf = (url: string) => /\sID="([^"]+)"/.exec(authnRequestOf(url))![1]!;

export const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
export const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
