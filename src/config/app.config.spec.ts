import { describe, expect, it } from '@jest/globals';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { ConfigError, loadConfig } from './app.config.js';

const valid = {
  DATABASE_URL: 'postgresql://svc@db:5432/teardown',
  DIALNEXA_API_KEY: 'dnx_live_secret',
  S3_BUCKET: 'archive',
  API_KEYS: JSON.stringify([{ name: 'billing-team', key: 'plain-key-0000000001', roles: ['requester'] }]),
};

describe('loadConfig', () => {
  it('applies the contract defaults', () => {
    const sut = loadConfig(valid);
    expect(sut).toMatchObject({
      port: 3000,
      migrateOnStart: true,
      dialnexa: { baseUrl: 'https://api.dialnexa.com', pageConcurrency: 4 },
      s3: { region: 'us-east-1', forcePathStyle: false, endpoint: undefined },
      archive: {
        prefix: 'teardowns/',
        lockMode: 'NONE',
        retentionDays: 2555,
        partSizeBytes: 8 * 1024 * 1024,
        uploadBufferBytes: 64 * 1024 * 1024,
      },
      runner: { deleteSettleTimeoutS: 600 },
      approvalTtlHours: 168,
    });
  });

  it('takes a public S3 endpoint for presigned URLs, and refuses one that is not a URL', () => {
    expect(loadConfig({ ...valid, S3_PUBLIC_ENDPOINT: 'http://127.0.0.1:8333' }).s3.publicEndpoint).toBe(
      'http://127.0.0.1:8333',
    );
    expect(loadConfig(valid).s3.publicEndpoint).toBeUndefined();
    expect(() => loadConfig({ ...valid, S3_PUBLIC_ENDPOINT: 'seaweedfs:8333' })).toThrow(
      /S3_PUBLIC_ENDPOINT/,
    );
  });

  it('names every bad variable at once', () => {
    let error: unknown;
    try {
      loadConfig({
        ...valid,
        PORT: 'eighty',
        DATABASE_URL: undefined,
        ARCHIVE_LOCK_MODE: 'SOMETIMES',
        API_KEYS: '[',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of ['PORT', 'DATABASE_URL', 'ARCHIVE_LOCK_MODE', 'API_KEYS'])
      expect(message).toContain(name);
  });

  it('refuses an upload buffer budget that cannot hold one part', () => {
    expect(() => loadConfig({ ...valid, ARCHIVE_PART_SIZE_MB: '16', ARCHIVE_UPLOAD_BUFFER_MB: '8' })).toThrow(
      /ARCHIVE_UPLOAD_BUFFER_MB must hold at least one part/,
    );
    expect(
      loadConfig({ ...valid, ARCHIVE_PART_SIZE_MB: '16', ARCHIVE_UPLOAD_BUFFER_MB: '16' }).archive,
    ).toMatchObject({
      uploadBufferBytes: 16 * 1024 * 1024,
    });
  });

  it('accepts sha256: keys and hashes plaintext ones, never keeping the plaintext', () => {
    const hex = createHash('sha256').update('another-key-000000001').digest('hex');
    const sut = loadConfig({
      ...valid,
      API_KEYS: JSON.stringify([
        { name: 'a', key: 'plain-key-0000000001', roles: ['requester'] },
        { name: 'b', key: `sha256:${hex}`, roles: ['auditor'] },
      ]),
    });
    expect(sut.apiKeys[1]!.keySha256.toString('hex')).toBe(hex);
    expect(JSON.stringify(sut.apiKeys)).not.toContain('plain-key-0000000001');
  });

  it('does not echo API keys in its error', () => {
    expect(() =>
      loadConfig({
        ...valid,
        API_KEYS: JSON.stringify([{ name: 'a', key: 'short-secret', roles: ['nobody'] }]),
      }),
    ).toThrow(expect.objectContaining({ message: expect.not.stringContaining('short-secret') }));
  });

  it.each(['system', 'SYSTEM', 'System'])('refuses the reserved caller name %s at start-up', (name) => {
    expect(() =>
      loadConfig({
        ...valid,
        API_KEYS: JSON.stringify([{ name, key: 'plain-key-0000000001', roles: ['admin'] }]),
      }),
    ).toThrow(
      expect.objectContaining({ message: expect.stringContaining(`caller name ${name} is reserved`) }),
    );
  });

  describe('receipt keys', () => {
    const ed25519 = () => generateKeyPairSync('ed25519');
    const pkcs8 = (key = ed25519()) => key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const spki = (key = ed25519()) => key.publicKey.export({ format: 'pem', type: 'spki' }).toString();

    it('leaves receipts off without RECEIPT_SIGNING_KEY', () => {
      expect(loadConfig(valid).receipts).toEqual({ signingKey: null, previousPublicKeys: [] });
    });

    it('takes an Ed25519 PKCS#8 PEM, also on one line with \\n escapes, and earlier public keys', () => {
      const pem = pkcs8();
      const older = [spki(), spki()];
      const sut = loadConfig({
        ...valid,
        RECEIPT_SIGNING_KEY: pem.trim().replace(/\n/g, '\\n'),
        RECEIPT_PREVIOUS_PUBLIC_KEYS: older.join(''),
      });
      expect(sut.receipts).toEqual({ signingKey: pem, previousPublicKeys: older });
    });

    it('refuses a key that is not Ed25519 or not a private key, without echoing it', () => {
      const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
        .privateKey.export({ format: 'pem', type: 'pkcs8' })
        .toString();
      for (const bad of [rsa, spki(), 'not-a-key-but-a-secret']) {
        expect(() => loadConfig({ ...valid, RECEIPT_SIGNING_KEY: bad })).toThrow(
          expect.objectContaining({
            message: expect.stringContaining(
              'RECEIPT_SIGNING_KEY must be an Ed25519 private key in PKCS#8 PEM',
            ),
          }),
        );
      }
      expect(() => loadConfig({ ...valid, RECEIPT_SIGNING_KEY: 'not-a-key-but-a-secret' })).toThrow(
        expect.objectContaining({ message: expect.not.stringContaining('not-a-key-but-a-secret') }),
      );
      expect(() => loadConfig({ ...valid, RECEIPT_PREVIOUS_PUBLIC_KEYS: 'nothing' })).toThrow(ConfigError);
    });
  });

  it('reads the console settings: session TTL, SSO header, trusted proxies and users', () => {
    expect(loadConfig(valid).console).toEqual({
      sessionTtlMinutes: 480,
      ssoHeader: null,
      trustedProxies: [],
      ssoUsers: new Map(),
    });
    const sut = loadConfig({
      ...valid,
      CONSOLE_SESSION_TTL_MINUTES: '60',
      CONSOLE_SSO_HEADER: 'X-Forwarded-Email',
      CONSOLE_TRUSTED_PROXIES: '10.0.0.5, 192.168.0.0/16,::1',
      CONSOLE_SSO_USERS: JSON.stringify({
        'Ana@Example.com': { name: 'ana', roles: ['approver', 'approver'] },
      }),
    }).console;
    expect(sut).toEqual({
      sessionTtlMinutes: 60,
      ssoHeader: 'x-forwarded-email',
      trustedProxies: ['10.0.0.5', '192.168.0.0/16', '::1'],
      ssoUsers: new Map([['ana@example.com', { name: 'ana', roles: ['approver'] }]]),
    });
  });

  it('refuses bad console settings, naming each variable', () => {
    const bad = (env: Record<string, string>) => () => loadConfig({ ...valid, ...env });
    expect(bad({ CONSOLE_TRUSTED_PROXIES: '10.0.0.0/33' })).toThrow(/CONSOLE_TRUSTED_PROXIES/);
    expect(bad({ CONSOLE_TRUSTED_PROXIES: 'proxy.internal' })).toThrow(/CONSOLE_TRUSTED_PROXIES/);
    // everyone: anybody's SSO header would be believed (and Express's trust proxy refuses it at start)
    expect(bad({ CONSOLE_TRUSTED_PROXIES: '10.0.0.5, 0.0.0.0/0' })).toThrow(
      /CONSOLE_TRUSTED_PROXIES.*everyone/,
    );
    expect(bad({ CONSOLE_TRUSTED_PROXIES: '::/0' })).toThrow(/CONSOLE_TRUSTED_PROXIES.*everyone/);
    expect(bad({ CONSOLE_TRUSTED_PROXIES: '::ffff:0.0.0.0/96' })).toThrow(
      /CONSOLE_TRUSTED_PROXIES.*everyone/,
    );
    expect(bad({ CONSOLE_SSO_USERS: '{"a": {"name": "system", "roles": ["admin"]}}' })).toThrow(/reserved/);
    expect(bad({ CONSOLE_SSO_USERS: '[1]' })).toThrow(/CONSOLE_SSO_USERS/);
    expect(bad({ CONSOLE_SSO_HEADER: 'X Bad' })).toThrow(/CONSOLE_SSO_HEADER/);
    // a header believed from anyone would let anybody name themselves
    expect(bad({ CONSOLE_SSO_HEADER: 'X-Forwarded-Email' })).toThrow(/CONSOLE_TRUSTED_PROXIES/);
    expect(bad({ CONSOLE_SESSION_TTL_MINUTES: '0' })).toThrow(/CONSOLE_SESSION_TTL_MINUTES/);
  });
});
