// The create-user bodies Okta ("SCIM 2.0 protocol reference", developer.okta.com) and
// Microsoft Entra ID ("Tutorial: Develop and plan provisioning for a SCIM endpoint",
// learn.microsoft.com) document, as they send them: Okta with a password and `groups: []`,
// Entra with the enterprise schema URI, a meta and `roles: []`.
import { ENTERPRISE, USER } from './scim.js';

export const OKTA_CREATE_USER = {
  schemas: [USER],
  userName: 'test.user@okta.local',
  name: { givenName: 'Test', familyName: 'User' },
  emails: [{ primary: true, value: 'test.user@okta.local', type: 'work' }],
  displayName: 'Test User',
  locale: 'en-US',
  externalId: '00ujl29u0le5T6Aj10h7',
  groups: [],
  password: '1mz050nq',
  active: true,
};

export const ENTRA_CREATE_USER = {
  schemas: [USER, ENTERPRISE],
  externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
  userName: 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1',
  active: true,
  emails: [
    {
      primary: true,
      type: 'work',
      value: 'Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com',
    },
  ],
  meta: { resourceType: 'User' },
  name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
  roles: [],
};
