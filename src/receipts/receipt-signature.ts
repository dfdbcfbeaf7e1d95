import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { canonicalJson } from '../common/canonical-json.js';

/**
 * Signing and checking deletion receipts. The envelope is
 * `{"receipt": {…}, "signature": {"alg": "EdDSA", "kid": "…", "value": "<base64url>"}}`, where
 * `value` is the Ed25519 signature of the RFC 8785 canonical bytes of `receipt`, and the stored
 * file is itself the canonical JSON of the envelope. Pure: no I/O, so the service and the CLI
 * (offline) check receipts with the same code.
 */

export const RECEIPT_SIGNATURE_ALG = 'EdDSA';

export interface ReceiptSignature {
  alg: typeof RECEIPT_SIGNATURE_ALG;
  kid: string;
  value: string;
}

export interface SignedReceipt<T = Record<string, unknown>> {
  receipt: T;
  signature: ReceiptSignature;
}

/** An Ed25519 public key as a JWK (RFC 8037), with its RFC 7638 thumbprint as `kid`. */
export interface Ed25519Jwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: typeof RECEIPT_SIGNATURE_ALG;
  use: 'sig';
}

export interface JwkSet {
  keys: Ed25519Jwk[];
}

export type ReceiptCheck =
  { ok: true; kid: string; receipt: Record<string, unknown> } | { ok: false; reason: string; kid?: string };

/**
 * RFC 7638 thumbprint of an Ed25519 public key: SHA-256 of `{"crv","kty","x"}` (its required
 * members, in that order, no white space: exactly their RFC 8785 form), base64url.
 */
export function jwkThumbprint(jwk: { crv: string; kty: string; x: string }): string {
  const members = canonicalJson({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
  return createHash('sha256').update(members, 'utf8').digest('base64url');
}

export function publicJwkOf(key: KeyObject): Ed25519Jwk {
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 key');
  const exported = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' });
  if (typeof exported.x !== 'string') throw new Error('the Ed25519 key exported no x');
  const base = { kty: 'OKP', crv: 'Ed25519', x: exported.x } as const;
  return { ...base, kid: jwkThumbprint(base), alg: RECEIPT_SIGNATURE_ALG, use: 'sig' };
}

/** The signing key and the public keys still accepted (the current one first). */
export class ReceiptKeyring {
  private readonly privateKey: KeyObject;
  readonly current: Ed25519Jwk;
  readonly jwks: JwkSet;

  constructor(privateKeyPem: string, previousPublicKeyPems: readonly string[] = []) {
    this.privateKey = createPrivateKey({ key: privateKeyPem, format: 'pem' });
    this.current = publicJwkOf(this.privateKey);
    const previous = previousPublicKeyPems
      .map((pem) => publicJwkOf(createPublicKey({ key: pem, format: 'pem' })))
      .filter((jwk) => jwk.kid !== this.current.kid);
    const unique = new Map([this.current, ...previous].map((jwk) => [jwk.kid, jwk]));
    this.jwks = { keys: [...unique.values()] };
  }

  /** The envelope, as the canonical bytes that are stored and served. */
  sign<T extends object>(receipt: T): Buffer {
    const value = sign(null, Buffer.from(canonicalJson(receipt), 'utf8'), this.privateKey);
    const envelope: SignedReceipt<T> = {
      receipt,
      signature: { alg: RECEIPT_SIGNATURE_ALG, kid: this.current.kid, value: value.toString('base64url') },
    };
    return Buffer.from(canonicalJson(envelope), 'utf8');
  }
}

/**
 * Checks receipt bytes against a JWK set: the bytes must be the canonical JSON of an envelope
 * (so no byte can change, white space included, without failing), signed by a key of the set
 * whose `kid` the signature names. A receipt signed by a key that is not in the set fails.
 */
export function verifyReceipt(bytes: Uint8Array, jwks: JwkSet): ReceiptCheck {
  let envelope: unknown;
  const text = Buffer.from(bytes).toString('utf8');
  try {
    envelope = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `not JSON (${(error as Error).message})` };
  }
  if (!isEnvelope(envelope)) {
    return { ok: false, reason: 'not a signed receipt: expected {"receipt": {…}, "signature": {…}}' };
  }
  const { receipt, signature } = envelope;
  let canonical: string;
  try {
    canonical = canonicalJson(envelope);
  } catch (error) {
    return { ok: false, reason: `not canonical JSON (${(error as Error).message})` };
  }
  if (canonical !== text) {
    return { ok: false, reason: 'the bytes are not the canonical JSON (RFC 8785) of the receipt: altered' };
  }
  if (signature.alg !== RECEIPT_SIGNATURE_ALG) {
    return { ok: false, reason: `unsupported signature algorithm ${JSON.stringify(signature.alg)}` };
  }
  const jwk = jwks.keys.find((k) => k.kid === signature.kid);
  if (!jwk) return { ok: false, kid: signature.kid, reason: `no key ${signature.kid} in the key set` };
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || jwkThumbprint(jwk) !== jwk.kid) {
    return { ok: false, kid: jwk.kid, reason: `key ${jwk.kid} is not an Ed25519 key with that thumbprint` };
  }
  const key = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: 'jwk' });
  const signed = Buffer.from(canonicalJson(receipt), 'utf8');
  const value = Buffer.from(signature.value, 'base64url');
  if (value.toString('base64url') !== signature.value || !verify(null, signed, key, value)) {
    return { ok: false, kid: jwk.kid, reason: `the signature does not match key ${jwk.kid}` };
  }
  return { ok: true, kid: jwk.kid, receipt };
}

function isEnvelope(value: unknown): value is SignedReceipt {
  if (!isObject(value) || !isObject(value['receipt']) || !isObject(value['signature'])) return false;
  const keys = Object.keys(value);
  const signature = value['signature'];
  return (
    keys.length === 2 &&
    typeof signature['alg'] === 'string' &&
    typeof signature['kid'] === 'string' &&
    typeof signature['value'] === 'string' &&
    Object.keys(signature).length === 3
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
