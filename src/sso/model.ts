// SSO connections as the admin API takes and shows them (issue 15). The input schemas
// validate requests (and describe them in OpenAPI); the records type the answers, which
// never carry a secret: only whether one is set.
import { z } from 'zod';

export const LINK_BY = ['email', 'userName', 'externalId'] as const;
export const CLIENT_AUTH = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
] as const;
/** Which parts of a SAML answer must carry a valid signature. */
export const SAML_SIGNED = ['assertion', 'response', 'both'] as const;

export const MAX_DOMAINS = 50;
export const MAX_ADMIN_GROUPS = 100;
export const MAX_CERTIFICATES = 2;

const domain = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, {
    error: 'must be a domain name such as example.com',
  });
const httpUrl = z
  .string()
  .trim()
  .max(2000)
  .refine(
    (v) => {
      try {
        const u = new URL(v);
        return (u.protocol === 'https:' || u.protocol === 'http:') && !u.hash && !u.username;
      } catch {
        return false;
      }
    },
    { error: 'must be an http(s) URL without fragment or credentials' },
  );
const pem = z
  .string()
  .trim()
  .max(20_000)
  .regex(/^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----$/, {
    error: 'must be a PEM certificate (-----BEGIN CERTIFICATE-----)',
  });

const common = {
  linkBy: z.enum(LINK_BY),
  adminGroupIds: z.array(z.uuid()).max(MAX_ADMIN_GROUPS).optional(),
  domains: z.array(domain).max(MAX_DOMAINS).optional(),
  idpInitiated: z.boolean().optional(),
};

const oidcFields = {
  issuer: httpUrl,
  clientId: z.string().trim().min(1).max(500),
  clientSecret: z.string().min(1).max(2000).optional(),
  clientAuth: z.enum(CLIENT_AUTH).optional(),
  /** The private JWK signing the client assertion (private_key_jwt, RFC 7523). */
  privateKeyJwk: z.record(z.string(), z.unknown()).optional(),
  scopes: z
    .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, { error: 'not a scope token' }))
    .max(50)
    .optional(),
};

const samlFields = {
  idpEntityId: z.string().trim().min(1).max(1000),
  idpSsoUrl: httpUrl,
  idpCertificates: z.array(pem).min(1).max(MAX_CERTIFICATES),
  signed: z.enum(SAML_SIGNED).optional(),
  wantEncryptedAssertions: z.boolean().optional(),
};

export const OidcConnectionInput = z.strictObject({
  type: z.literal('oidc'),
  ...oidcFields,
  ...common,
});
/** What an IdP's metadata document gives (checked like the same values given directly). */
export const IdpValues = z.object({
  idpEntityId: samlFields.idpEntityId,
  idpSsoUrl: samlFields.idpSsoUrl,
  idpCertificates: samlFields.idpCertificates,
});

/** SAML: the IdP's metadata document, or its three values given one by one. */
const metadataXml = z
  .string()
  .min(1)
  .max(512 * 1024);
export const SamlConnectionInput = z.union([
  z.strictObject({ type: z.literal('saml'), ...samlFields, ...common }),
  z.strictObject({
    type: z.literal('saml'),
    metadataXml,
    signed: samlFields.signed,
    wantEncryptedAssertions: samlFields.wantEncryptedAssertions,
    ...common,
  }),
]);
export const ConnectionInput = z.union([OidcConnectionInput, SamlConnectionInput]);
export type ConnectionInput = z.infer<typeof ConnectionInput>;

/** A PATCH: any field but the type; the type cannot change. */
export const OidcConnectionPatch = z
  .strictObject({
    ...oidcFields,
    ...common,
  })
  .partial();
export const SamlConnectionPatch = z
  .strictObject({
    ...samlFields,
    metadataXml,
    ...common,
  })
  .partial();
export const ConnectionPatch = z.union([OidcConnectionPatch, SamlConnectionPatch]);

const base = {
  id: z.uuid(),
  linkBy: z.enum(LINK_BY),
  adminGroupIds: z.array(z.uuid()),
  domains: z.array(z.string()),
  idpInitiated: z.boolean(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
};

export const OidcConnectionRecord = z.object({
  type: z.literal('oidc'),
  issuer: z.string(),
  clientId: z.string(),
  clientAuth: z.enum(CLIENT_AUTH),
  scopes: z.array(z.string()),
  hasClientSecret: z.boolean().describe('Whether a client secret or private key is stored'),
  redirectUri: z.string().describe('Register this redirect URI at the OpenID Provider'),
  ...base,
});
export const SamlConnectionRecord = z.object({
  type: z.literal('saml'),
  idpEntityId: z.string(),
  idpSsoUrl: z.string(),
  idpCertificates: z.array(z.string()),
  signed: z.enum(SAML_SIGNED),
  wantEncryptedAssertions: z.boolean(),
  spEntityId: z.string(),
  acsUrl: z.string(),
  metadataUrl: z.string(),
  ...base,
});
export const ConnectionRecord = z.discriminatedUnion('type', [
  OidcConnectionRecord,
  SamlConnectionRecord,
]);
export type ConnectionRecord = z.infer<typeof ConnectionRecord>;
export const ConnectionListRecord = z.object({ items: z.array(ConnectionRecord) });

/** The settings column: what a connection keeps that is not a secret. */
export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientAuth: (typeof CLIENT_AUTH)[number];
  scopes: string[];
}
export interface SamlSettings {
  idpEntityId: string;
  idpSsoUrl: string;
  idpCertificates: string[];
  signed: (typeof SAML_SIGNED)[number];
  wantEncryptedAssertions: boolean;
}

/** A connection as the sign-in code uses it (its secret still sealed). */
export interface StoredConnection {
  tenantId: string;
  id: string;
  type: 'oidc' | 'saml';
  settings: OidcSettings | SamlSettings;
  sealedSecret: string | null;
  linkBy: (typeof LINK_BY)[number];
  adminGroupIds: string[];
  domains: string[];
  idpInitiated: boolean;
  createdAt: Date;
  updatedAt: Date;
}
