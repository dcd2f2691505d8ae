// Discovery (RFC 7644 §4): what this service provider supports, with its real limits.
import SCIMMY from 'scimmy';
import { MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE } from './list-query.js';
import { LIMITS_SCHEMA, MAX_INDEXED_TEXT_LENGTH, PATCH_MAX_OPERATIONS } from './limits.js';
import { CORE_GROUP, CORE_USER } from './schemas.js';
import { ENTERPRISE_USER } from '../directory/index.js';

export const BULK_MAX_OPERATIONS = 1000;
export const BULK_MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;
export const SCIM_BODY_LIMIT_BYTES = BULK_MAX_PAYLOAD_BYTES;

export function serviceProviderConfig(base: string) {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig', LIMITS_SCHEMA],
    documentationUri: 'https://github.com/seatkeeper/seatkeeper#scim',
    patch: { supported: true },
    bulk: {
      supported: true,
      maxOperations: BULK_MAX_OPERATIONS,
      maxPayloadSize: BULK_MAX_PAYLOAD_BYTES,
    },
    filter: { supported: true, maxResults: MAX_PAGE_SIZE },
    // Passwords are accepted and discarded: sign-in is federated (SAML/OIDC).
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    // RFC 9865: both index and cursor pagination.
    pagination: {
      cursor: true,
      index: true,
      defaultPaginationMethod: 'index',
      defaultPageSize: DEFAULT_PAGE_SIZE,
      maxPageSize: MAX_PAGE_SIZE,
    },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description:
          "Authentication with the tenant's SCIM token (Authorization: Bearer sk_scim_...)",
        specUri: 'https://www.rfc-editor.org/info/rfc6750',
        primary: true,
      },
    ],
    [LIMITS_SCHEMA]: {
      patchMaxOperations: PATCH_MAX_OPERATIONS,
      userNameMaxLength: MAX_INDEXED_TEXT_LENGTH,
      externalIdMaxLength: MAX_INDEXED_TEXT_LENGTH,
      groupDisplayNameMaxLength: MAX_INDEXED_TEXT_LENGTH,
    },
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };
}

export function resourceTypes(base: string) {
  return [
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      description: 'User Account',
      schema: CORE_USER,
      schemaExtensions: [{ schema: ENTERPRISE_USER, required: false }],
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` },
    },
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      description: 'Group',
      schema: CORE_GROUP,
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/Group` },
    },
  ];
}

export function schemas(base: string): Array<Record<string, unknown>> {
  const describe = (s: { definition: { describe(): Record<string, unknown> } }) => {
    const d = s.definition.describe();
    return { ...d, meta: { resourceType: 'Schema', location: `${base}/Schemas/${String(d.id)}` } };
  };
  // scimmy's User definition now includes the extension's attributes; describe the core schema alone.
  const user = describe(SCIMMY.Schemas.User as never) as Record<string, unknown>;
  const userCore = {
    ...user,
    attributes: (user.attributes as Array<{ name: string }>).filter(
      (a) => !a.name.startsWith('urn:'),
    ),
  };
  return [
    userCore,
    describe(SCIMMY.Schemas.EnterpriseUser as never),
    describe(SCIMMY.Schemas.Group as never),
  ];
}
