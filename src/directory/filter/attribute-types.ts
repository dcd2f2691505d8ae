// The shapes of the filter attribute tables: what schema.ts builds from scimmy's
// definitions and attributes.ts resolves paths in. Types only, so that the two modules
// depend on them and not on each other.
export type ScimResourceKind = 'User' | 'Group';
export type SimpleType =
  'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'binary' | 'reference';

/** Where one value is read, relative to the context (the resource row or one element). */
export type ScalarSource =
  | {
      from: 'column';
      column: string;
      sqlType: 'text' | 'uuid' | 'boolean' | 'timestamptz';
      notNull: boolean;
      /**
       * A stored column holding lower(column), indexed, that case-insensitive comparisons
       * read (migrations/20261207001100_folded_names.ts says why not lower(column)).
       */
      folded?: string;
    }
  | { from: 'constant'; value: string }
  | { from: 'json'; keys: string[] }
  | {
      from: 'membership';
      field: 'group_id' | 'member_id' | 'member_type' | 'group_display' | 'member_display';
    };

export interface ScalarAttr {
  shape: 'scalar';
  /** Canonical name, for messages ("emails.type", "urn:…:User:department"). */
  path: string;
  type: SimpleType;
  caseExact: boolean;
  /** Key path of the value in the SCIM JSON a client sees, relative to the context. */
  json: string[];
  source: ScalarSource;
}

/** A single-valued complex attribute (name, manager, meta). */
export interface ComplexAttr {
  shape: 'complex';
  path: string;
  json: string[];
  subs: ScalarAttr[];
}

/** A multi-valued complex attribute: elements are jsonb array items or membership rows. */
export interface MultiAttr {
  shape: 'multi';
  path: string;
  json: string[];
  source: { from: 'json'; keys: string[] } | { from: 'membership'; rel: 'groups' | 'members' };
  subs: ScalarAttr[];
}

export type Attr = ScalarAttr | ComplexAttr | MultiAttr;

export interface SchemaTable {
  urn: string;
  /** Lower-cased top-level name → attribute; sub-attributes are found through it. */
  attrs: Map<string, Attr>;
  /** Lower-cased names that exist but cannot be filtered on (password, meta.location…). */
  unfilterable: Set<string>;
}

// RFC 7643 §2.1 ATTRNAME (plus "$ref"), ASCII only so that Unicode case folding of the
// request text can never turn a look-alike into a real name.
