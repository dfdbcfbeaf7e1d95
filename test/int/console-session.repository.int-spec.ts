/**
 * The console's sessions against the real PostgreSQL: found by the digest of their token only,
 * revoked once, and dropped after they expired.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ConsoleSessionRepository } from '../../src/console/console-session.repository.js';
import { type NewConsoleSession, randomToken, tokenDigest } from '../../src/console/console-session.js';
import { PrismaService } from '../../src/db/prisma.service.js';
import {
  buildConfig,
  closeDatabase,
  database,
  resetDatabase,
  SUITE_LOCK_TIMEOUT_MS,
  SuiteLock,
} from '../support/int-env.js';

function build(overrides: Partial<NewConsoleSession> = {}): NewConsoleSession {
  return {
    tokenSha256: tokenDigest(randomToken()),
    callerName: 'approver-1',
    roles: ['approver', 'auditor'],
    method: 'api_key',
    csrfSecret: randomToken(),
    expiresAt: new Date(Date.now() + 3_600_000),
    ...overrides,
  };
}

describe(ConsoleSessionRepository.name, () => {
  let prisma: PrismaService;
  let sut: ConsoleSessionRepository;
  let lock: SuiteLock;

  beforeAll(async () => {
    lock = await SuiteLock.acquire();
    prisma = new PrismaService(buildConfig());
    sut = new ConsoleSessionRepository(prisma);
  }, SUITE_LOCK_TIMEOUT_MS);

  afterAll(async () => {
    await prisma.$disconnect();
    await closeDatabase();
    await lock.release();
  });

  beforeEach(async () => {
    await resetDatabase();
  });

  it('stores a session and finds it by its token digest, with its roles and CSRF secret', async () => {
    const input = build();
    const stored = await sut.insert(input);

    expect(stored.id).toMatch(/^cs_[0-9A-Z]{26}$/);
    await expect(sut.findByTokenDigest(input.tokenSha256)).resolves.toEqual({
      id: stored.id,
      callerName: 'approver-1',
      roles: ['approver', 'auditor'],
      method: 'api_key',
      csrfSecret: input.csrfSecret,
      createdAt: stored.createdAt,
      expiresAt: input.expiresAt,
      revokedAt: null,
    });
    await expect(sut.findByTokenDigest(tokenDigest(randomToken()))).resolves.toBeNull();
  });

  it('refuses a second session with the same token digest', async () => {
    const input = build();
    await sut.insert(input);

    await expect(sut.insert(build({ tokenSha256: input.tokenSha256 }))).rejects.toThrow();
  });

  it('revokes once: a second sign-out keeps the first time', async () => {
    const input = build();
    const { id } = await sut.insert(input);
    const first = new Date('2026-12-02T10:00:00.000Z');
    await sut.revoke(id, first);
    await sut.revoke(id, new Date('2026-12-02T11:00:00.000Z'));

    await expect(sut.findByTokenDigest(input.tokenSha256)).resolves.toMatchObject({ revokedAt: first });
  });

  it('drops only the sessions that expired before the given time', async () => {
    const old = build({ expiresAt: new Date('2026-01-01T00:00:00Z') });
    const fresh = build();
    await sut.insert(old);
    await sut.insert(fresh);

    await expect(sut.deleteExpired(new Date('2026-06-01T00:00:00Z'))).resolves.toBe(1);
    await expect(sut.findByTokenDigest(old.tokenSha256)).resolves.toBeNull();
    await expect(sut.findByTokenDigest(fresh.tokenSha256)).resolves.not.toBeNull();
    const rows = await database().query<{ n: string }>('SELECT count(*) AS n FROM console_session');
    expect(rows).toEqual([{ n: '1' }]);
  });
});
