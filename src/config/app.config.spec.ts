import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
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
});
