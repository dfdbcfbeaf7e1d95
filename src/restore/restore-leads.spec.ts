import type { JsonObject } from '../common/json.js';
import { emptyLeadsTally, leadFiles, MAX_LEADS_PER_FILE, type LeadsCsvEncoder } from './restore-leads.js';
import { buildLead } from './testing/archived-workflow.factory.js';
import { phoneOnlyCsv } from './testing/fake-restore-upstream.js';

async function* iterate(leads: JsonObject[]): AsyncGenerator<JsonObject> {
  await Promise.resolve();
  yield* leads;
}

async function collect(leads: JsonObject[], encode: LeadsCsvEncoder = phoneOnlyCsv, exclude = ['removed']) {
  const tally = emptyLeadsTally();
  const files = [];
  for await (const file of leadFiles(iterate(leads), exclude, encode, tally)) files.push(file);
  return { files, tally };
}

const leads = (n: number, overrides: (i: number) => Partial<JsonObject> = () => ({})) =>
  Array.from({ length: n }, (_, i) =>
    buildLead({ id: `wlead_${i}`, phone_number: `+1415555${String(i).padStart(4, '0')}`, ...overrides(i) }),
  );

describe(leadFiles.name, () => {
  it('cuts the leads into files of at most 5,000 rows, numbered in order', async () => {
    const { files, tally } = await collect(leads(MAX_LEADS_PER_FILE * 2 + 1));

    expect(files.map((f) => [f.seq, f.rows.length])).toEqual([
      [0, 5000],
      [1, 5000],
      [2, 1],
    ]);
    expect(files[2]!.rows[0]).toEqual({ oldId: 'wlead_10000', phone: '+141555510000' });
    expect(tally).toMatchObject({ archived: 10_001, uploaded: 10_001, files: 3 });
  });

  it('leaves out excluded statuses and unencodable leads, counting and naming them', async () => {
    const all = leads(6, (i) => (i === 1 ? { status: 'removed' } : i === 2 ? { phone_number: 'bad' } : {}));

    const { files, tally } = await collect(all);

    expect(files.flatMap((f) => f.rows.map((r) => r.oldId))).toEqual([
      'wlead_0',
      'wlead_3',
      'wlead_4',
      'wlead_5',
    ]);
    expect(tally.excluded).toEqual({ total: 1, byStatus: { removed: 1 } });
    expect(tally.unencodable).toEqual({ count: 1, leadIds: ['wlead_2'] });
  });

  it('moves leads that overflow a file by size to the next file, and reports one too large alone', async () => {
    // a file holds at most 2 leads by size; wlead_3 is too large even alone
    const bySize: LeadsCsvEncoder = (batch) => {
      const rejected: { lead: JsonObject; reason: string }[] = [];
      const kept: JsonObject[] = [];
      for (const lead of batch) {
        if (lead['id'] === 'wlead_3' || kept.length === 2) rejected.push({ lead, reason: 'row_too_large' });
        else kept.push(lead);
      }
      return { csv: phoneOnlyCsv(kept).csv, rejected };
    };

    const { files, tally } = await collect(leads(6), bySize);

    expect(files.map((f) => f.rows.map((r) => r.oldId))).toEqual([
      ['wlead_0', 'wlead_1'],
      ['wlead_2', 'wlead_4'],
      ['wlead_5'],
    ]);
    expect(tally.unencodable).toEqual({ count: 1, leadIds: ['wlead_3'] });
  });

  it('makes the same files on every run (a resumed restore names a file by its number)', async () => {
    const all = leads(7_000, (i) => (i % 7 === 0 ? { status: 'removed' } : {}));

    const first = await collect(all);
    const second = await collect(all);

    expect(second.files.map((f) => f.rows)).toEqual(first.files.map((f) => f.rows));
  });

  it('counts leads the encoder altered, by reason, once each', async () => {
    const marking: LeadsCsvEncoder = (batch) => ({
      ...phoneOnlyCsv(batch),
      altered: batch
        .filter((l) => l['id'] === 'wlead_1')
        .flatMap((lead) => [
          { lead, reason: 'lone_surrogate_replaced' },
          { lead, reason: 'empty_value_dropped' },
        ]),
    });

    const { tally } = await collect(leads(3), marking);

    expect(tally.altered).toEqual({
      count: 1,
      byReason: { lone_surrogate_replaced: 1, empty_value_dropped: 1 },
    });
  });
});
