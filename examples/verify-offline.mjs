#!/usr/bin/env node
// Verify a Seatkeeper licence key offline, with jose alone and no network: the tenant's
// JWKS (GET /keys/{tenantId}/jwks.json, saved to a file while online) and the key.
//
//   node examples/verify-offline.mjs --jwks jwks.json --key <licence key>
//
// Exit 0 and the verified claims on stdout when the key is valid now; exit 1 and the
// reason on stderr otherwise (bad signature, unknown kid, an algorithm other than EdDSA,
// a wrong `typ`, expired, not yet valid). Exit 2 on a usage error. Revocation and
// suspension are only known online (POST /api/v1/validate); `lic.offlineGraceSeconds`
// says how long the software may go without asking.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createLocalJWKSet, jwtVerify } from 'jose';

const USAGE = 'usage: verify-offline.mjs --jwks <file> --key <licence key>';

let values;
try {
  ({ values } = parseArgs({
    options: { jwks: { type: 'string' }, key: { type: 'string' }, file: { type: 'string' } },
  }));
} catch (err) {
  console.error(`${err.message}\n${USAGE}`);
  process.exit(2);
}
if (!values.jwks || (!values.key && !values.file)) {
  console.error(USAGE);
  process.exit(2);
}
if (values.file) {
  // Licence files (a key plus machine activation) come with machines, in the next slice.
  console.error('--file is not supported yet: pass the key with --key');
  process.exit(2);
}

try {
  const jwks = createLocalJWKSet(JSON.parse(readFileSync(values.jwks, 'utf8')));
  const { payload, protectedHeader } = await jwtVerify(values.key.trim(), jwks, {
    // Only EdDSA: a key claiming HS256 or `none` is refused before any key is used.
    algorithms: ['EdDSA'],
    typ: 'seatkeeper-license+jwt',
    requiredClaims: ['iss', 'sub', 'aud', 'iat', 'nbf', 'jti'],
  });
  if (payload.lic?.v !== 1) throw new Error(`unknown lic claim version ${payload.lic?.v}`);
  process.stdout.write(
    `${JSON.stringify({ header: protectedHeader, claims: payload }, null, 2)}\n`,
  );
  process.exit(0);
} catch (err) {
  console.error(`invalid licence key: ${err.code ?? ''} ${err.message}`.trim());
  process.exit(1);
}
