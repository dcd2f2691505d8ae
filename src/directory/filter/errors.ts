// The one error every filter problem turns into. RFC 7644 §3.4.2.2 / §3.12: a filter the
// service provider cannot understand is a 400 with scimType "invalidFilter"; the SCIM
// error renderer maps the code `invalid_filter` to that scimType.
import { AppError } from '../../shared/errors.js';

/** Longest quoted text echoed back in a message (the filter itself may be 4 kB). */
const MAX_ECHO = 64;

export function invalidFilter(message: string): AppError {
  return new AppError('invalid_filter', message, { status: 400 });
}

export function invalidSort(message: string): AppError {
  return new AppError('invalid_sort', message, { status: 400 });
}

/** Quote client text for an error message, shortened so messages stay small. */
export function echo(text: string): string {
  const short = text.length > MAX_ECHO ? `${text.slice(0, MAX_ECHO)}…` : text;
  return JSON.stringify(short);
}
