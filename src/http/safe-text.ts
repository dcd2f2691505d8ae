// The edge check for text that cannot be stored (src/shared/text.ts): a parsed body or a
// query parameter holding NUL or a lone surrogate is refused with 400 before any handler
// runs, so nothing partial is written. Each door renders the error in its own format
// (invalid_input: a SCIM invalidValue on /scim/v2, problem+json on /api/v1).
import type { RequestHandler } from 'express';
import { invalidInput } from '../shared/errors.js';
import { findTextDefect, type TextDefect } from '../shared/text.js';

const refuse = (path: string, defect: TextDefect) =>
  invalidInput(
    `${path || 'the body'} holds ${defect === 'NUL' ? 'a NUL character (U+0000)' : 'a lone UTF-16 surrogate'}, which cannot be stored`,
    { errors: [{ path, message: `${defect} is not allowed in text` }] },
  );

export const refuseUnsafeText: RequestHandler = (req, _res, next) => {
  const inQuery = findTextDefect(req.query, 'query');
  if (inQuery) throw refuse(inQuery.path, inQuery.defect);
  if (req.body !== undefined) {
    const inBody = findTextDefect(req.body);
    if (inBody) throw refuse(inBody.path, inBody.defect);
  }
  next();
};
