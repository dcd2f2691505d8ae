// The SCIM 2.0 door (RFC 7643/7644) over the directory.
export { scimRouter } from './router.js';
