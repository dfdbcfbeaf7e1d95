import { describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { Request } from 'express';
import { loadConfig } from '../config/app.config.js';
import { SsoIdentity } from './sso-identity.js';

const base = {
  DATABASE_URL: 'postgresql://svc@db:5432/teardown',
  DIALNEXA_API_KEY: 'dnx_live_secret',
  S3_BUCKET: 'archive',
  API_KEYS: JSON.stringify([{ name: 'billing-team', key: 'plain-key-0000000001', roles: ['requester'] }]),
};

function build(env: Record<string, string> = {}): SsoIdentity {
  return new SsoIdentity(
    loadConfig({
      ...base,
      CONSOLE_SSO_HEADER: 'X-Forwarded-Email',
      CONSOLE_TRUSTED_PROXIES: '10.1.0.0/16',
      CONSOLE_SSO_USERS: JSON.stringify({ 'Ana@Example.com': { name: 'ana', roles: ['approver'] } }),
      ...env,
    }),
  );
}

const request = (peer: string, email?: string) =>
  ({
    headers: email === undefined ? {} : { 'x-forwarded-email': email },
    socket: { remoteAddress: peer },
  }) as unknown as Request;

describe(SsoIdentity.name, () => {
  it('maps the identity a trusted proxy names, case-insensitively, to its console caller', () => {
    expect(build().of(request('10.1.2.3', 'ana@example.COM'))).toEqual({
      kind: 'caller',
      identity: 'ana@example.COM',
      caller: { name: 'ana', roles: ['approver'] },
    });
  });

  it('reports an identity it does not list, so the person is told, not signed in', () => {
    expect(build().of(request('10.1.2.3', 'mallory@example.com'))).toEqual({
      kind: 'unknown',
      identity: 'mallory@example.com',
    });
  });

  it('ignores the header from anyone but a trusted proxy, logging a warning without its value', () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      expect(build().of(request('203.0.113.5', 'ana@example.com'))).toEqual({ kind: 'none' });
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]![0])).not.toContain('ana@example.com');
    } finally {
      warn.mockRestore();
    }
  });

  it('does nothing without CONSOLE_SSO_HEADER, whoever sends what', () => {
    const sut = new SsoIdentity(loadConfig(base));

    expect(sut.enabled).toBe(false);
    expect(sut.of(request('10.1.2.3', 'ana@example.com'))).toEqual({ kind: 'none' });
  });
});
