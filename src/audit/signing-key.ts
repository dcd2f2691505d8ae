// The Ed25519 key that signs audit checkpoints lives outside the database (a PEM file,
// 0600), so someone who can rewrite the database cannot re-sign a rewritten history.
// On first use it is generated; several replicas must be given the same file.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { AppError } from '../shared/errors.js';
import { loadKeyFile } from '../shared/key-file.js';

export interface SigningKey {
  keyId: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function keyIdOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64url').slice(0, 22);
}

function fromPem(pem: string, file: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (err) {
    throw new AppError('signing_key_invalid', `${file} is not a PEM private key`, { cause: err });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new AppError(
      'signing_key_invalid',
      `${file} holds a ${privateKey.asymmetricKeyType} key; an Ed25519 key is required`,
    );
  }
  const publicKey = createPublicKey(privateKey);
  return { keyId: keyIdOf(publicKey), privateKey, publicKey };
}

/** Load the key; with `create`, generate it when the file does not exist yet. */
export function loadSigningKey(file: string, opts: { create: boolean }): SigningKey | null {
  return loadKeyFile(file, {
    create: opts.create,
    parse: (pem) => fromPem(pem, file),
    generate: () =>
      generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  });
}
