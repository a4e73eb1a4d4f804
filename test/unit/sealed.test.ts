// The go's secrets sealed to a target's key (src/protocol/sealed.ts): only that key opens them, and a sealed part
// changed on the way is refused, not read.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSealedFile } from '../../src/job/fleet-seed.js';
import { isSealKey, seal, sealedHeader, sealer, sealKeyPair, unseal } from '../../src/protocol/sealed.js';

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

describe('a sealed file (the configuration a target gets)', () => {
  // As the seed sends it: the ciphertext, then the tag; the header names the seed's key and the nonce.
  function sealFile(content: Buffer, recipient: string): { body: Buffer; header: string } {
    const { key, iv, cipher } = sealer(recipient);
    const body = Buffer.concat([cipher.update(content), cipher.final(), cipher.getAuthTag()]);
    return { body, header: sealedHeader({ key, iv }) };
  }

  it('opens with the key it was sealed to into a new file of root\'s alone, and is refused whole otherwise', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'noi-sealed-'));
    try {
      const target = sealKeyPair();
      const content = randomBytes(300_000);
      const { body, header } = sealFile(content, target.publicKey);
      await writeFile(join(dir, 'sealed'), body);
      await openSealedFile(join(dir, 'sealed'), join(dir, 'open'), header, target.privateKey, 'The configuration', 'http://10.0.0.1:8071');
      expect((await readFile(join(dir, 'open'))).equals(content)).toBe(true);
      const refused = async (name: string, bytes: Buffer, withHeader: string | null, key = target.privateKey) => {
        await writeFile(join(dir, name), bytes);
        await expect(openSealedFile(join(dir, name), join(dir, `${name}.open`), withHeader, key, 'The configuration', 'http://10.0.0.1:8071')).rejects.toMatchObject({ code: 'fleet-refused', title: 'The configuration from the seed could not be opened' });
      };
      const flipped = Buffer.from(body);
      flipped[1000] = flipped[1000]! ^ 1;
      await refused('flipped', flipped, header);
      await refused('cut', body.subarray(0, body.length - 1), header);
      await refused('other-key', body, header, sealKeyPair().privateKey);
      await refused('no-header', body, null);
      await refused('plain', content, header);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
