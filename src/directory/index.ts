// The directory's public surface: the mirror of users, groups and memberships that the
// identity providers push (through src/scim) and that licensing reads.
export { DirectoryHooks } from './changes.js';
// Users' activity (issue 14): recorded here, read in SQL by the reclaimers.
export {
  lastActivityJoins,
  lastActivitySql,
  recordActivity,
  recordActivityOf,
  type ActivityFact,
} from './activity.js';
// The directory's writes: each one transaction with its audit event and listeners.
export type { DirectoryContext, Precondition } from './context.js';
export { changeUser, createUser, readUser, removeUser, type WrittenUser } from './user-writes.js';
export { changeGroup, createGroup, removeGroup, type MemberStep } from './group-writes.js';
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
  deleteGroup,
  findGroup,
  membersOfGroups,
  removeMembers,
  resolveMembers,
  type MemberKey,
  type MembershipChange,
} from './groups.js';
export { ENTERPRISE_USER, RESOURCE_STORAGE } from './types.js';
export type { GroupRef, GroupRow, MemberOut, StoredData, UserRow } from './types.js';
export {
  USER_COLUMNS,
  deleteUser,
  findUser,
  groupsColumn,
  groupsOfUsers,
  takeGroupRefs,
  updateUser,
} from './users.js';
// How other capabilities read the directory (issue 13): nothing outside src/directory
// names its tables. Set-based readers (licensing's eligibility and reconciler) embed its
// relations, attribute expressions and the nested-group walk in their own SQL; the rest
// use the lookups.
export {
  membershipsRelation,
  userAttributeSql,
  usersRelation,
  type Sql,
  type UserAttributeSql,
} from './relations.js';
export { groupsOfUser, nestedGroups, usersUnderGroups } from './nesting.js';
export {
  activeStates,
  groupExists,
  groupListing,
  groupNames,
  memberIdsOf,
  primaryEmails,
  userExists,
  userIdsByUserName,
  userListing,
  type Listing,
} from './lookups.js';
// Single sign-on's question: which user an identity names.
export { usersForSignIn, userSummary, type SignInCandidate, type SignInKey } from './sign-in.js';
