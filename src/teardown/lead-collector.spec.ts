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

  it("hands on each distinct lead's bytes from the page's body, in line with the leads", async () => {
    const body = (items: unknown[]) => Buffer.from(JSON.stringify({ data: items, meta: { total: 3 } }));
    const first = [lead('a'), lead('b')];
    // `c` is served with an escape JSON.stringify does not write: no bytes for it
    const second = Buffer.from(`{"data":[${JSON.stringify(lead('b'))},{"id":"\\u0063"}],"meta":{"total":3}}`);
    const sut = new LeadCollector(
      pagesOf(
        { items: first, meta: { total: 3 }, raw: { body: body(first), itemsPath: ['data'] } },
        { items: [lead('b'), { id: 'c' }], meta: { total: 3 }, raw: { body: second, itemsPath: ['data'] } },
      ),
    );
    const pages = [];
    for await (const page of sut.distinctPages()) pages.push(page);
    const text = (line: Uint8Array | null | undefined) => (line ? Buffer.from(line).toString('utf8') : line);
    expect(pages[0]?.lines?.map(text)).toEqual([JSON.stringify(lead('a')), JSON.stringify(lead('b'))]);
    expect(pages[1]?.leads).toEqual([{ id: 'c' }]);
    expect(pages[1]?.lines?.map(text)).toEqual([null]);
  });

  it('hands on no bytes when the body does not line up with the parsed items', async () => {
    const items = [lead('a')];
    const body = Buffer.from(JSON.stringify({ data: [...items, lead('x')], meta: { total: 1 } }));
    const sut = new LeadCollector(pagesOf({ items, meta: { total: 1 }, raw: { body, itemsPath: ['data'] } }));
    const pages = [];
    for await (const page of sut.distinctPages()) pages.push(page);
    expect(pages[0]).toEqual({ page: 1, leads: items });
  });

  it('does not look for the bytes of leads read one by one (the final snapshot serialises them)', async () => {
    const items = [lead('a')];
    let bodyRead = 0;
    const page: LeadPage = {
      items,
      meta: { total: 1 },
      get raw() {
        bodyRead += 1;
        return { body: Buffer.from(JSON.stringify({ data: items })), itemsPath: ['data'] };
      },
    };
    const sut = new LeadCollector(pagesOf(page));

    await expect(collect(sut)).resolves.toEqual(items);
    expect(bodyRead).toBe(0);
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
