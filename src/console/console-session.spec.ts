import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { type ConsoleSession, isActive, randomToken, sameSecret, tokenDigest } from './console-session.js';

function build(overrides: Partial<ConsoleSession> = {}): ConsoleSession {
  return {
    id: 'cs_01',
    callerName: 'approver-1',
    roles: ['approver'],
    method: 'api_key',
    csrfSecret: randomToken(),
    createdAt: new Date('2026-12-02T10:00:00Z'),
    expiresAt: new Date('2026-12-02T18:00:00Z'),
    revokedAt: null,
    ...overrides,
  };
}

describe('console sessions', () => {
  it('is active until it expires, and not at the instant it does', () => {
    const sut = build();

    expect(isActive(sut, new Date('2026-12-02T17:59:59.999Z'))).toBe(true);
    expect(isActive(sut, new Date('2026-12-02T18:00:00Z'))).toBe(false);
    expect(isActive(sut, new Date('2026-12-03T00:00:00Z'))).toBe(false);
  });

  it('is not active once revoked, however long before its expiry', () => {
    const sut = build({ revokedAt: new Date('2026-12-02T10:05:00Z') });

    expect(isActive(sut, new Date('2026-12-02T10:06:00Z'))).toBe(false);
  });

  it('issues 256-bit URL-safe tokens, different each time, stored only as their SHA-256', () => {
    const tokens = new Set(Array.from({ length: 50 }, () => randomToken()));

    expect(tokens.size).toBe(50);
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const [token] = tokens;
    expect(tokenDigest(token!)).toMatch(/^[0-9a-f]{64}$/);
    expect(tokenDigest(token!)).not.toContain(token!);
  });
});

describe(sameSecret.name, () => {
  it('accepts only the very secret', () => {
    const secret = randomToken();

    expect(sameSecret(secret, secret)).toBe(true);
    expect(sameSecret(`${secret}x`, secret)).toBe(false);
    expect(sameSecret(secret.slice(1), secret)).toBe(false);
    expect(sameSecret('', secret)).toBe(false);
    expect(sameSecret(undefined, secret)).toBe(false);
    expect(sameSecret(['a'], secret)).toBe(false);
    expect(sameSecret('x'.repeat(100_000), secret)).toBe(false);
  });

  it('never throws and never matches another string, whatever its length or content', () => {
    const secret = randomToken();
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 2000 }), (presented) => {
        expect(sameSecret(presented, secret)).toBe(presented === secret);
      }),
    );
  });
});
