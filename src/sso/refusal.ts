// A refused sign-in: what the person at the browser is told (in words they understand,
// on a 4xx page, never a redirect to where they wanted to go) and the reason recorded
// for the operator (the audit event and the log). Stable reason codes: callers and
// tests switch on `reason`, never on the text.
import { AppError } from '../shared/errors.js';

export const REFUSAL_REASONS = {
  unknown_connection: 'This sign-in link is not valid: the sign-in method it names does not exist.',
  wrong_protocol: 'This sign-in link is not valid for this kind of sign-in.',
  flow_unknown: 'This sign-in has expired or was already used. Please start again.',
  flow_other_browser: 'This sign-in was started in another browser. Please start again here.',
  idp_error: 'Your identity provider did not sign you in.',
  response_invalid: 'The answer from your identity provider could not be verified.',
  replayed: 'This sign-in answer was already used. Please start again.',
  idp_initiated_disabled:
    'Sign-in must start at Seatkeeper for this organisation: open Seatkeeper and choose Sign in.',
  identity_missing:
    'Your identity provider did not say who you are (no usable user name or email).',
  unknown_user: 'Your account is not known to Seatkeeper. Ask your administrator for access.',
  ambiguous_user: 'More than one Seatkeeper account matches you. Ask your administrator to fix it.',
  inactive_user: 'Your account is deactivated. Ask your administrator for access.',
} as const;

export type RefusalReason = keyof typeof REFUSAL_REASONS;

export class SignInRefused extends AppError {
  readonly reason: RefusalReason;
  constructor(
    reason: RefusalReason,
    /** For the operator (audit, log); never shown to the user. */
    readonly internal?: string,
    status = reason === 'unknown_connection' ? 404 : 403,
  ) {
    super('sign_in_refused', REFUSAL_REASONS[reason], { status, expose: true });
    this.reason = reason;
  }
}
