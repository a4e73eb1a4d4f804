// The go's secrets sealed to a target's key (src/protocol/sealed.ts): only that key opens them, and a sealed part
// changed on the way is refused, not read.
import { describe, expect, it } from 'vitest';
import { isSealKey, seal, sealKeyPair, unseal } from '../../src/protocol/sealed.js';

const SECRETS = { privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nx\n', passwordHash: '$6$salt$hash', passphrase: Buffer.from('correct horse').toString('base64') };

describe('sealed go secrets', () => {
  it('open with the key they were sealed to, and with no other', () => {
    const target = sealKeyPair();
    const sealed = seal(SECRETS, target.publicKey);
    expect(unseal(sealed, target.privateKey)).toEqual(SECRETS);
    expect(JSON.stringify(sealed)).not.toContain('correct');
    expect(() => unseal(sealed, sealKeyPair().privateKey)).toThrow();
    // A new seed key and nonce each time: two seals of the same secrets share nothing.
    const again = seal(SECRETS, target.publicKey);
    expect([again.key, again.iv, again.data]).not.toContain(sealed.key);
    expect(again.data).not.toBe(sealed.data);
  });

  it('refuses a sealed part changed on the way (any field)', () => {
    const target = sealKeyPair();
    const sealed = seal(SECRETS, target.publicKey);
    const flip = (text: string) => `${text[0] === 'A' ? 'B' : 'A'}${text.slice(1)}`;
    for (const field of ['key', 'iv', 'data', 'tag'] as const) {
      expect(() => unseal({ ...sealed, [field]: flip(sealed[field]) }, target.privateKey), field).toThrow();
    }
  });

  it('takes as a key only 32 bytes of base64url that are an X25519 public key', () => {
    expect(isSealKey(sealKeyPair().publicKey)).toBe(true);
    for (const bad of ['', 'x'.repeat(42), 'x'.repeat(44), `${'x'.repeat(42)}=`, `${'x'.repeat(42)}/`, 'ssh-ed25519 AAAA']) expect(isSealKey(bad), bad).toBe(false);
  });
});
