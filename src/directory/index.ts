// The directory's public surface: the mirror of users, groups and memberships that the
// identity providers push (through src/scim) and that licensing reads.
export { DirectoryHooks } from './changes.js';
// The SCIM filter language over the directory tables: the SCIM door's filters and
// licensing rules' user filters are one language with one translation.
export {
  filterToSql,
  matchesElement,
  parsePatchPath,
  sortExpression,
  type ScimResourceKind,
} from './filter/index.js';
export { COUNT_STATE, countResources, foldIfPiledUp } from './counts.js';
export {
  GROUP_COLUMNS,
  addMembers,
  deleteGroup,
  findGroup,
  insertGroup,
  membersOfGroups,
  removeMembers,
  resolveMembers,
  updateGroup,
  type MemberKey,
  type MembershipChange,
} from './groups.js';
export type { BatchRows } from './resource-table.js';
export { ENTERPRISE_USER } from './types.js';
export type { GroupRef, GroupRow, MemberOut, StoredData, UserRow } from './types.js';
export {
  USER_COLUMNS,
  deleteUser,
  findUser,
  groupsOfUsers,
  insertUser,
  insertUsers,
  lockGroupsOf,
  newUserRow,
  updateUser,
} from './users.js';
