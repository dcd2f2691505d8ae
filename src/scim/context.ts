import type { DirectoryContext } from '../directory/index.js';

/**
 * What a SCIM operation needs: the directory's write context (the tenant from the
 * token, who acts, the clock, the listeners) and the absolute base URL of /scim/v2, for
 * meta.location and $ref.
 */
export interface ScimContext extends DirectoryContext {
  base: string;
}
