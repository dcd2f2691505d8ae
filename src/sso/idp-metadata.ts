// An IdP's SAML metadata (SAML 2.0 Metadata §2.4.3), read for what a connection needs:
// the entity id, the HTTP-Redirect SingleSignOnService, and the signing certificates.
// The admin uploads it (`metadataXml`); it is read once, at create or PATCH, and the
// connection keeps the three values, never the document.
import { DOMParser } from '@xmldom/xmldom';
import { invalidInput } from '../shared/errors.js';
import { MAX_CERTIFICATES } from './model.js';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
export const MAX_METADATA_BYTES = 512 * 1024;

export interface IdpMetadata {
  idpEntityId: string;
  idpSsoUrl: string;
  idpCertificates: string[];
}

const pem = (base64: string) => {
  const body = base64.replace(/\s+/g, '');
  return `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----`;
};

export function readIdpMetadata(xml: string): IdpMetadata {
  if (xml.length > MAX_METADATA_BYTES) {
    throw invalidInput(`metadataXml is larger than ${MAX_METADATA_BYTES} bytes`);
  }
  // No DTDs: nothing an entity could expand (xmldom does not fetch or expand external ones).
  if (/<!DOCTYPE/i.test(xml)) throw invalidInput('metadataXml must not carry a DOCTYPE');
  let root: Element | null;
  try {
    root = new DOMParser({
      errorHandler: {
        warning: () => {},
        error: (m: string) => {
          throw new Error(m);
        },
        fatalError: (m: string) => {
          throw new Error(m);
        },
      },
    }).parseFromString(xml, 'text/xml').documentElement;
  } catch (err) {
    throw invalidInput(`metadataXml is not XML: ${(err as Error).message}`);
  }
  if (!root || root.namespaceURI !== MD || root.localName !== 'EntityDescriptor') {
    throw invalidInput('metadataXml must be one md:EntityDescriptor');
  }
  const idpEntityId = root.getAttribute('entityID') ?? '';
  const idp = Array.from(root.getElementsByTagNameNS(MD, 'IDPSSODescriptor'))[0];
  if (!idpEntityId || !idp) {
    throw invalidInput('metadataXml names no entityID or IDPSSODescriptor');
  }
  const sso = Array.from(idp.getElementsByTagNameNS(MD, 'SingleSignOnService')).find(
    (s) => s.getAttribute('Binding') === REDIRECT,
  );
  if (!sso?.getAttribute('Location')) {
    throw invalidInput('metadataXml has no HTTP-Redirect SingleSignOnService');
  }
  const certificates = Array.from(idp.getElementsByTagNameNS(MD, 'KeyDescriptor'))
    .filter((k) => (k.getAttribute('use') ?? 'signing') === 'signing')
    .flatMap((k) => Array.from(k.getElementsByTagNameNS(DS, 'X509Certificate')))
    .map((c) => (c.textContent ?? '').trim())
    .filter((c) => /^[A-Za-z0-9+/=\s]+$/.test(c) && c.length > 0);
  const unique = [...new Set(certificates.map((c) => c.replace(/\s+/g, '')))];
  if (unique.length === 0) throw invalidInput('metadataXml has no signing certificate');
  if (unique.length > MAX_CERTIFICATES) {
    throw invalidInput(`metadataXml has more than ${MAX_CERTIFICATES} signing certificates`);
  }
  return {
    idpEntityId,
    idpSsoUrl: sso.getAttribute('Location')!,
    idpCertificates: unique.map(pem),
  };
}
