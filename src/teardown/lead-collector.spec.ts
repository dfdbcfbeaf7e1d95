import { describe, expect, it } from '@jest/globals';
import { type LeadPage, LeadCollector } from './lead-collector.js';
import type { IdSet } from './lead-id-set.js';

async function* pagesOf(...pages: LeadPage[]): AsyncGenerator<LeadPage> {
  for (const page of pages) yield page;
}

const lead = (id: string) => ({ id, phone_number: '+14155550100', extra: { kept: true } });

async function collect(sut: LeadCollector): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const item of sut.leads()) out.push(item);
  return out;
}

describe(LeadCollector.name, () => {
  it('passes every field through and reads the reported total', async () => {
    const sut = new LeadCollector(pagesOf({ items: [lead('a'), lead('b')], meta: { total: 2 } }));
    await expect(collect(sut)).resolves.toEqual([lead('a'), lead('b')]);
    expect(sut.totalReported).toBe(2);
  });

  it('archives a lead that two pages both listed once', async () => {
    const sut = new LeadCollector(
      pagesOf(
        { items: [lead('a'), lead('b')], meta: { total: 3 } },
        { items: [lead('b'), lead('c')], meta: { total: 3 } },
      ),
    );
    await expect(collect(sut)).resolves.toEqual([lead('a'), lead('b'), lead('c')]);
    expect(sut.duplicates).toBe(1);
  });

  it('fails, retryably, when a lead was skipped between pages', async () => {
    const sut = new LeadCollector(
      pagesOf({ items: [lead('a')], meta: { total: 2 } }, { items: [], meta: { total: 2 } }),
    );
    await expect(collect(sut)).rejects.toMatchObject({ code: 'ARCHIVE_INCOMPLETE', retryable: true });
  });

  it('fails, retryably, rather than archive short when two distinct ids share a fingerprint', async () => {
    // every id collides: the second distinct lead is taken for a duplicate
    const colliding: IdSet = {
      size: 0,
      add(this: { size: number }) {
        if (this.size > 0) return false;
        this.size = 1;
        return true;
      },
      reserve: () => {},
    };
    const sut = new LeadCollector(pagesOf({ items: [lead('a'), lead('b')], meta: { total: 2 } }), colliding);
    await expect(collect(sut)).rejects.toMatchObject({
      code: 'ARCHIVE_INCOMPLETE',
      retryable: true,
      details: { listed: 1, reported: 2 },
    });
  });

  it('refuses a lead without an id', async () => {
    const sut = new LeadCollector(pagesOf({ items: [{ phone_number: '+1' }], meta: undefined }));
    await expect(collect(sut)).rejects.toMatchObject({ code: 'UPSTREAM_BAD_RESPONSE' });
  });
});
