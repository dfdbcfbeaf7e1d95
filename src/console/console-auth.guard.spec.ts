import { describe, expect, it } from '@jest/globals';
import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiRateLimiter } from '../auth/api-rate-limiter.js';
import { DomainError } from '../common/domain-error.js';
import { loadConfig } from '../config/app.config.js';
import { ConsoleAuthGuard } from './console-auth.guard.js';
import type { ConsoleRequest } from './console-request.js';
import type { ConsoleSession, SignInMethod } from './console-session.js';
import type { ConsoleSessionService } from './console-session.service.js';
import { SsoIdentity } from './sso-identity.js';

const config = loadConfig({
  DATABASE_URL: 'postgresql://svc@db:5432/teardown',
  DIALNEXA_API_KEY: 'dnx_live_secret',
  S3_BUCKET: 'archive',
  API_KEYS: JSON.stringify([{ name: 'ops-bot', key: 'plain-key-0000000001', roles: ['approver'] }]),
  CONSOLE_SSO_HEADER: 'X-Forwarded-Email',
  CONSOLE_TRUSTED_PROXIES: '10.1.0.5',
  CONSOLE_SSO_USERS: JSON.stringify({
    'ana@example.com': { name: 'ana', roles: ['approver'] },
    'bob@example.com': { name: 'bob', roles: ['approver'] },
  }),
});

function sessionOf(callerName: string, method: SignInMethod): ConsoleSession {
  return {
    id: 'cs_1',
    callerName,
    roles: ['approver'],
    method,
    csrfSecret: 'csrf',
    createdAt: new Date(),
    expiresAt: new Date(Date.now() + 3_600_000),
    revokedAt: null,
  };
}

function build(session: ConsoleSession) {
  const sessions = { resolve: () => Promise.resolve(session) } as unknown as ConsoleSessionService;
  return new ConsoleAuthGuard(new Reflector(), sessions, new ApiRateLimiter(config), new SsoIdentity(config));
}

function contextOf(peer: string, email?: string): { context: ExecutionContext; request: ConsoleRequest } {
  const request = {
    method: 'GET',
    headers: email === undefined ? {} : { 'x-forwarded-email': email },
    socket: { remoteAddress: peer },
  } as unknown as ConsoleRequest;
  const context = {
    getHandler: () => function handler() {},
    getClass: () => class Controller {},
    switchToHttp: () => ({ getRequest: () => request }),
  } as unknown as ExecutionContext;
  return { context, request };
}

async function refusal(guard: ConsoleAuthGuard, context: ExecutionContext): Promise<string | null> {
  try {
    await guard.canActivate(context);
    return null;
  } catch (error) {
    if (error instanceof DomainError) return error.code;
    throw error;
  }
}

describe(ConsoleAuthGuard.name, () => {
  it('lets an SSO session through while the trusted proxy names its person, or names nobody', async () => {
    const sut = build(sessionOf('ana', 'sso'));
    const same = contextOf('10.1.0.5', 'Ana@Example.com');
    await expect(refusal(sut, same.context)).resolves.toBeNull();
    expect(same.request.caller).toEqual({ name: 'ana', roles: ['approver'] });
    await expect(refusal(sut, contextOf('10.1.0.5').context)).resolves.toBeNull();
  });

  it('refuses an SSO session once the trusted proxy names someone else (another person at that browser), acting for nobody', async () => {
    const sut = build(sessionOf('ana', 'sso'));
    const other = contextOf('10.1.0.5', 'bob@example.com');
    await expect(refusal(sut, other.context)).resolves.toBe('UNAUTHENTICATED');
    expect(other.request.caller).toBeUndefined();
    const unknown = contextOf('10.1.0.5', 'mallory@example.com');
    await expect(refusal(sut, unknown.context)).resolves.toBe('UNAUTHENTICATED');
  });

  it('ignores the header from an untrusted peer, and leaves API-key sessions to their key', async () => {
    await expect(
      refusal(build(sessionOf('ana', 'sso')), contextOf('203.0.113.9', 'bob@example.com').context),
    ).resolves.toBeNull();
    await expect(
      refusal(build(sessionOf('ops-bot', 'api_key')), contextOf('10.1.0.5', 'bob@example.com').context),
    ).resolves.toBeNull();
  });
});
