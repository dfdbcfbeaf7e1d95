import { describe, expect, it } from '@jest/globals';
import type { AppConfig } from '../config/app.config.js';
import type { ConsoleSession, NewConsoleSession } from './console-session.js';
import type { ConsoleSessionRepository } from './console-session.repository.js';
import { ConsoleSessionService } from './console-session.service.js';

/** console_session in memory, as ConsoleSessionRepository keeps it. */
class FakeSessionRepository {
  readonly rows: (ConsoleSession & { tokenSha256: string })[] = [];

  insert(session: NewConsoleSession): Promise<ConsoleSession> {
    const row = { id: `cs_${this.rows.length}`, createdAt: new Date(), revokedAt: null, ...session };
    this.rows.push(row);
    return Promise.resolve(row);
  }

  findByTokenDigest(tokenSha256: string): Promise<ConsoleSession | null> {
    return Promise.resolve(this.rows.find((r) => r.tokenSha256 === tokenSha256) ?? null);
  }

  revoke(id: string, at: Date): Promise<void> {
    const row = this.rows.find((r) => r.id === id);
    if (row && !row.revokedAt) row.revokedAt = at;
    return Promise.resolve();
  }

  deleteExpired(before: Date): Promise<number> {
    const keep = this.rows.filter((r) => r.expiresAt >= before);
    const dropped = this.rows.length - keep.length;
    this.rows.splice(0, this.rows.length, ...keep);
    return Promise.resolve(dropped);
  }
}

type Configured = { name: string; roles: AppConfig['apiKeys'][number]['roles'] };
const CONFIGURED: Configured[] = [{ name: 'approver-1', roles: ['approver'] }];

function build(ttlMinutes = 60, apiKeys: Configured[] = CONFIGURED, ssoUsers: Configured[] = CONFIGURED) {
  const repository = new FakeSessionRepository();
  const config = {
    apiKeys: apiKeys.map((k) => ({ ...k, keySha256: Buffer.alloc(32) })),
    console: {
      sessionTtlMinutes: ttlMinutes,
      ssoUsers: new Map(ssoUsers.map((u, i) => [`person${i}@example.com`, u])),
    },
  } as unknown as AppConfig;
  const sut = new ConsoleSessionService(repository as unknown as ConsoleSessionRepository, config);
  return { sut, repository };
}

const caller = { name: 'approver-1', roles: ['approver'] as const };
const at = (iso: string) => new Date(iso);

describe(ConsoleSessionService.name, () => {
  it('signs in for the TTL, keeping only the digest of the token it hands out', async () => {
    const { sut, repository } = build(60);
    const { token, session } = await sut.signIn(
      { ...caller, roles: [...caller.roles] },
      'api_key',
      at('2026-12-02T10:00:00Z'),
    );

    expect(session.expiresAt).toEqual(at('2026-12-02T11:00:00Z'));
    expect(sut.ttlSeconds).toBe(3600);
    expect(JSON.stringify(repository.rows)).not.toContain(token);
    await expect(sut.resolve(token, at('2026-12-02T10:59:59Z'))).resolves.toMatchObject({
      callerName: 'approver-1',
    });
  });

  it('resolves no session once it expired', async () => {
    const { sut } = build(60);
    const { token } = await sut.signIn(
      { ...caller, roles: [...caller.roles] },
      'api_key',
      at('2026-12-02T10:00:00Z'),
    );

    await expect(sut.resolve(token, at('2026-12-02T11:00:00Z'))).resolves.toBeNull();
  });

  it('resolves no session after sign-out, for every copy of the token', async () => {
    const { sut } = build();
    const { token, session } = await sut.signIn({ ...caller, roles: [...caller.roles] }, 'sso');
    await sut.signOut(session);

    await expect(sut.resolve(token)).resolves.toBeNull();
  });

  it('resolves nothing for a missing, malformed or unknown token, without a lookup for the malformed', async () => {
    const { sut } = build();

    await expect(sut.resolve(undefined)).resolves.toBeNull();
    await expect(sut.resolve("'; DROP TABLE console_session; --")).resolves.toBeNull();
    await expect(sut.resolve('A'.repeat(43))).resolves.toBeNull();
  });

  it('drops sessions a day past their expiry when someone signs in', async () => {
    const { sut, repository } = build(60);
    await sut.signIn({ ...caller, roles: [...caller.roles] }, 'api_key', at('2026-12-01T08:00:00Z'));
    await sut.signIn({ ...caller, roles: [...caller.roles] }, 'api_key', at('2026-12-02T10:00:00Z'));

    expect(repository.rows).toHaveLength(1);
  });

  it('ends a session whose caller is no longer configured (its key or SSO user removed), as the REST API refuses the key', async () => {
    const before = build();
    const { token } = await before.sut.signIn({ name: 'approver-1', roles: ['approver'] }, 'api_key');
    const { token: ssoToken } = await before.sut.signIn({ name: 'approver-1', roles: ['approver'] }, 'sso');
    // the same table, read by the service after a restart with the caller removed from the config
    const after = new ConsoleSessionService(
      before.repository as unknown as ConsoleSessionRepository,
      { apiKeys: [], console: { sessionTtlMinutes: 60, ssoUsers: new Map() } } as unknown as AppConfig,
    );

    await expect(after.resolve(token)).resolves.toBeNull();
    await expect(after.resolve(ssoToken)).resolves.toBeNull();
  });

  it('applies a role taken away since sign-in at once, and never one given since (sign in again for it)', async () => {
    const before = build(60, [{ name: 'ops', roles: ['approver', 'requester'] }]);
    const { token } = await before.sut.signIn({ name: 'ops', roles: ['approver', 'requester'] }, 'api_key');
    const after = new ConsoleSessionService(
      before.repository as unknown as ConsoleSessionRepository,
      {
        apiKeys: [{ name: 'ops', roles: ['approver', 'auditor'], keySha256: Buffer.alloc(32) }],
        console: { sessionTtlMinutes: 60, ssoUsers: new Map() },
      } as unknown as AppConfig,
    );

    await expect(after.resolve(token)).resolves.toMatchObject({ callerName: 'ops', roles: ['approver'] });
  });
});
