import { describe, expect, it } from '@jest/globals';
import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { canonicalJson } from '../common/canonical-json.js';
import { jwkThumbprint, ReceiptKeyring, verifyReceipt } from './receipt-signature.js';

function buildKeyPair(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

function buildReceipt(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    teardownId: 'td_01JD0000000000000000000000',
    workflowId: 'wfl_m3v7zb9rk2px',
    requestedBy: 'billing-team',
    reason: 'GDPR erasure — ticket PRIV-1042 ✓',
    deletedAt: '2026-12-02T11:00:00.000Z',
    events: [{ seq: 7, type: 'workflow.deleted', hash: 'a'.repeat(64) }],
    ...overrides,
  };
}

describe(ReceiptKeyring.name, () => {
  const key = buildKeyPair();

  it('signs the RFC 8785 bytes of the receipt, and stores the envelope as canonical JSON', () => {
    const sut = new ReceiptKeyring(key.privatePem);
    const receipt = buildReceipt();

    const bytes = sut.sign(receipt);

    const envelope = JSON.parse(bytes.toString('utf8')) as {
      receipt: unknown;
      signature: { alg: string; kid: string; value: string };
    };
    expect(bytes.toString('utf8')).toBe(canonicalJson(envelope));
    expect(envelope.signature).toMatchObject({ alg: 'EdDSA', kid: sut.current.kid });
    // any Ed25519 tool checks it: the signature is the plain Ed25519 one over the canonical bytes
    const expected = sign(null, Buffer.from(canonicalJson(receipt), 'utf8'), key.privatePem);
    expect(envelope.signature.value).toBe(expected.toString('base64url'));
    expect(verifyReceipt(bytes, sut.jwks)).toEqual({ ok: true, kid: sut.current.kid, receipt });
  });

  it('names its key by the RFC 7638 thumbprint (the RFC 8037 example key)', () => {
    // RFC 8037 appendix A.3: the thumbprint of its example Ed25519 public key
    const jwk = { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' };
    expect(jwkThumbprint(jwk)).toBe('kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
  });

  it('serves the current key first and earlier public keys after it, once each', () => {
    const old = buildKeyPair();
    const sut = new ReceiptKeyring(key.privatePem, [old.publicPem, old.publicPem, key.publicPem]);

    expect(sut.jwks.keys.map((k) => k.kid)).toEqual([
      sut.current.kid,
      new ReceiptKeyring(old.privatePem).current.kid,
    ]);
    expect(sut.jwks.keys[0]).toEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      x: createPublicKey(key.publicPem).export({ format: 'jwk' }).x,
      kid: sut.current.kid,
      alg: 'EdDSA',
      use: 'sig',
    });
  });
});

describe('verifyReceipt', () => {
  const key = buildKeyPair();
  const keyring = new ReceiptKeyring(key.privatePem);
  const bytes = keyring.sign(buildReceipt());

  it('fails when any single byte is changed', () => {
    const failures = [];
    for (let i = 0; i < bytes.length; i += 1) {
      const tampered = Buffer.from(bytes);
      tampered[i] = tampered[i]! ^ 0x01;
      const check = verifyReceipt(tampered, keyring.jwks);
      if (check.ok) failures.push(i);
    }
    expect(failures).toEqual([]);
  });

  it('fails on white space added, though the JSON means the same', () => {
    const spaced = Buffer.from(JSON.stringify(JSON.parse(bytes.toString('utf8')), null, 2));
    expect(verifyReceipt(spaced, keyring.jwks)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('canonical'),
    });
  });

  it('fails for a receipt re-signed with a foreign key, whether it names its own kid or ours', () => {
    const foreign = new ReceiptKeyring(buildKeyPair().privatePem);
    const resigned = foreign.sign(buildReceipt());
    expect(verifyReceipt(resigned, keyring.jwks)).toMatchObject({ ok: false, kid: foreign.current.kid });

    const envelope = JSON.parse(resigned.toString('utf8')) as { signature: { kid: string } };
    envelope.signature.kid = keyring.current.kid;
    const impostor = Buffer.from(canonicalJson(envelope), 'utf8');
    expect(verifyReceipt(impostor, keyring.jwks)).toMatchObject({
      ok: false,
      reason: `the signature does not match key ${keyring.current.kid}`,
    });
  });

  it('fails for a changed receipt re-encoded canonically (the signature no longer matches)', () => {
    const envelope = JSON.parse(bytes.toString('utf8')) as { receipt: Record<string, unknown> };
    envelope.receipt['requestedBy'] = 'someone-else';
    const changed = Buffer.from(canonicalJson(envelope), 'utf8');
    expect(verifyReceipt(changed, keyring.jwks)).toMatchObject({ ok: false });
  });

  it('keeps receipts of a rotated-out key verifiable through its public key', () => {
    const next = buildKeyPair();
    const rotated = new ReceiptKeyring(next.privatePem, [key.publicPem]);

    expect(verifyReceipt(bytes, rotated.jwks)).toMatchObject({ ok: true, kid: keyring.current.kid });
    expect(verifyReceipt(rotated.sign(buildReceipt()), rotated.jwks)).toMatchObject({
      ok: true,
      kid: rotated.current.kid,
    });
    // without the old public key, the old receipt no longer checks
    expect(verifyReceipt(bytes, new ReceiptKeyring(next.privatePem).jwks)).toMatchObject({ ok: false });
  });

  it('refuses a key whose kid is not its thumbprint, and what is not an envelope', () => {
    const lying = {
      keys: [{ ...keyring.current, x: new ReceiptKeyring(buildKeyPair().privatePem).current.x }],
    };
    expect(verifyReceipt(bytes, lying)).toMatchObject({ ok: false });
    expect(verifyReceipt(Buffer.from('{"receipt":{}}'), keyring.jwks)).toMatchObject({ ok: false });
    expect(verifyReceipt(Buffer.from('not json'), keyring.jwks)).toMatchObject({ ok: false });
  });
});
