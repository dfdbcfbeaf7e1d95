import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../config/app.config.js';
import { ArchiveStoreClient } from './archive-store.client.js';

const env = {
  DATABASE_URL: 'postgresql://svc@db:5432/teardown',
  DIALNEXA_API_KEY: 'dnx_live_secret',
  S3_BUCKET: 'archive',
  S3_ENDPOINT: 'http://seaweedfs:8333',
  S3_FORCE_PATH_STYLE: 'true',
  AWS_ACCESS_KEY_ID: 'access-key',
  AWS_SECRET_ACCESS_KEY: 'secret-key-0001',
  API_KEYS: JSON.stringify([{ name: 'billing-team', key: 'plain-key-0000000001', roles: ['requester'] }]),
};

// Presigning is computed locally: no request is sent, so these tests need no store.
describe(ArchiveStoreClient.name, () => {
  const object = { key: 'teardowns/wfl_1/td_1/manifest.json', versionId: 'v-1' };

  it('signs download URLs for S3_PUBLIC_ENDPOINT, the address callers reach the store at', async () => {
    const sut = new ArchiveStoreClient(loadConfig({ ...env, S3_PUBLIC_ENDPOINT: 'http://127.0.0.1:8333' }));
    try {
      const url = new URL(await sut.presign(object, 300));
      expect(url.origin).toBe('http://127.0.0.1:8333');
      expect(url.pathname).toBe('/archive/teardowns/wfl_1/td_1/manifest.json');
      expect(url.searchParams.get('versionId')).toBe('v-1');
      expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host');
    } finally {
      sut.onApplicationShutdown();
    }
  });

  it('signs for S3_ENDPOINT when no public endpoint is set', async () => {
    const sut = new ArchiveStoreClient(loadConfig(env));
    try {
      expect(new URL(await sut.presign(object, 300)).origin).toBe('http://seaweedfs:8333');
    } finally {
      sut.onApplicationShutdown();
    }
  });
});
