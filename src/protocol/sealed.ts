// What the seed's go holds that no one else on the fleet's network may read
// (the store key, the password hash, a LUKS passphrase), and the target's
// configuration folder (config.tar) as a sealed file, sealed to a key the
// target made for this one install: X25519 between that key and a new one of
// the seed's, HKDF-SHA256, AES-256-GCM, all Node's own crypto. It keeps the
// secrets from anyone who only listens; one who can answer in the target's
// place (with the fleet's secret) could register its own key instead.
import { createCipheriv, createDecipheriv, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, type CipherGCM, type DecipherGCM, type KeyObject } from 'node:crypto';

export interface Sealed {
  // The seed's one-use public key, the nonce, the ciphertext and its tag (base64url).
  key: string;
  iv: string;
  data: string;
  tag: string;
}

// What the go carries sealed; the rest of the go says where and what, not how to get in.
export interface GoSecrets {
  // The fleet's client key for the seed's store (OpenSSH private key file text).
  privateKey: string;
  // The answer file's passwordHash, if any.
  passwordHash: string | null;
  // The passphrase's bytes as cryptsetup takes them (the file less its newline), base64; null without "layout.encrypt".
  passphrase: string | null;
}

const INFO = 'nixos-offline-installer fleet go v1';
// A raw X25519 public key is 32 bytes: 43 characters of base64url.
export const SEAL_KEY = /^[A-Za-z0-9_-]{43}$/;

function publicKeyOf(text: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: text }, format: 'jwk' });
}

function rawOf(key: KeyObject): string {
  return key.export({ format: 'jwk' }).x!;
}

// Whether TEXT is an X25519 public key as a target sends it.
export function isSealKey(text: string): boolean {
  if (!SEAL_KEY.test(text)) return false;
  try {
    publicKeyOf(text);
    return true;
  } catch {
    return false;
  }
}

// The target's key pair for one install: the public half goes with its registration, the private half never leaves it.
export function sealKeyPair(): { publicKey: string; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return { publicKey: rawOf(publicKey), privateKey };
}

function aesKey(shared: Buffer, ephemeral: string, recipient: string): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.from(`${ephemeral}${recipient}`), INFO, 32));
}

// A new cipher for RECIPIENT, with the seed's one-use key and the nonce the recipient needs to open it.
export function sealer(recipient: string): { key: string; iv: string; cipher: CipherGCM } {
  const ephemeral = generateKeyPairSync('x25519');
  const key = rawOf(ephemeral.publicKey);
  const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: publicKeyOf(recipient) });
  const iv = randomBytes(12);
  return { key, iv: iv.toString('base64url'), cipher: createCipheriv('aes-256-gcm', aesKey(shared, key, recipient), iv) };
}

// The decipher for what was sealed with KEY and IV to PRIVATEKEY's public half; its final() throws unless TAG fits.
export function opener({ key, iv }: { key: string; iv: string }, privateKey: KeyObject, tag: Buffer): DecipherGCM {
  const recipient = rawOf(createPublicKey(privateKey));
  const shared = diffieHellman({ privateKey, publicKey: publicKeyOf(key) });
  const decipher = createDecipheriv('aes-256-gcm', aesKey(shared, key, recipient), Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(tag);
  return decipher;
}

export function seal(secrets: GoSecrets, recipient: string): Sealed {
  const { key, iv, cipher } = sealer(recipient);
  const data = Buffer.concat([cipher.update(JSON.stringify(secrets), 'utf8'), cipher.final()]);
  return { key, iv, data: data.toString('base64url'), tag: cipher.getAuthTag().toString('base64url') };
}

// The secrets, or an Error when SEALED was not sealed to this key or was changed on the way.
export function unseal(sealed: Sealed, privateKey: KeyObject): GoSecrets {
  const decipher = opener(sealed, privateKey, Buffer.from(sealed.tag, 'base64url'));
  const text = Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64url')), decipher.final()]).toString('utf8');
  return JSON.parse(text) as GoSecrets;
}

// A sealed file as the seed sends it: the header SEALED_HEADER says "<key>.<iv>", the body is the ciphertext then
// the 16-byte tag (sent last, once the whole file is read).
export const SEALED_HEADER = 'x-noi-sealed';
export const TAG_BYTES = 16;

export function sealedHeader({ key, iv }: { key: string; iv: string }): string {
  return `${key}.${iv}`;
}

export function parseSealedHeader(value: string | null): { key: string; iv: string } | null {
  const found = /^([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{16})$/.exec(value ?? '');
  return found ? { key: found[1]!, iv: found[2]! } : null;
}
