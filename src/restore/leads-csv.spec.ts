import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { decodeUtf8, parseCsv } from '../../test/simulator/csv.ts';
import { uploadRows } from '../../test/simulator/lead-upload.ts';
import type { JsonObject } from '../dialnexa/dialnexa.types.js';
import { leadCsvFiles, leadsCsv } from './leads-csv.js';

function buildLead(overrides: JsonObject = {}): JsonObject {
  return {
    id: 'wlead_p3q8zv5bk2mx',
    workflow_id: 'wfl_m3v7zb9rk2px',
    phone_number: '+14155550123',
    metadata: { first_name: 'Ana' },
    status: 'pending',
    ...overrides,
  };
}

function text(csv: Uint8Array): string {
  return new TextDecoder().decode(csv);
}

/** What the simulator's importer makes of a file: each row's phone and metadata. */
function imported(csv: Uint8Array) {
  const parsed = uploadRows({ name: 'leads.csv', type: 'text/csv', bytes: csv });
  if (!('rows' in parsed)) throw new Error(`refused: ${JSON.stringify(parsed)}`);
  return parsed.rows;
}

const anyText = fc.string({ unit: 'binary', maxLength: 12 });
const hostileText = fc.oneof(
  anyText,
  fc.constantFrom(
    '\u2028',
    '\u2029',
    '"',
    ',',
    '\r\n',
    '\r',
    '\n',
    ' x ',
    '\ud83d',
    '\ude00',
    '\u0000',
    '""',
    '',
  ),
);
const metadataKey = fc
  .oneof(hostileText, fc.constantFrom('__proto__', 'constructor', 'first_name'))
  .filter((key) => key !== '' && key !== 'phone_number');
const metadataValue = fc.oneof(hostileText, fc.jsonValue({ maxDepth: 2 }), fc.constant(-0));
const e164 = fc.stringMatching(/^\+[1-9]\d{1,14}$/);
const anyLead = fc.record({
  id: fc.string({ minLength: 1, maxLength: 8 }),
  phone_number: e164,
  metadata: fc.dictionary(metadataKey, metadataValue, { maxKeys: 5 }),
});

/** The cell the contract asks for: a string as it is, anything else its JSON text (-0 kept). */
function expectedCell(value: unknown): string {
  if (typeof value === 'string') return value.toWellFormed();
  return Object.is(value, -0) ? '-0' : JSON.stringify(value);
}

describe('leadsCsv', () => {
  it('writes phone_number, then the union of metadata keys in order of first appearance, with CRLF', () => {
    const sut = leadsCsv([
      buildLead({ metadata: { first_name: 'Ana', last_name: 'Li' } }),
      buildLead({ phone_number: '+14155550124', metadata: { company: 'Acme', first_name: 'Bo' } }),
    ]);

    expect(text(sut.csv)).toBe(
      'phone_number,first_name,last_name,company\r\n' +
        '+14155550123,Ana,Li,\r\n' +
        '+14155550124,Bo,,Acme\r\n',
    );
    expect(sut.rejected).toEqual([]);
    expect(sut.altered).toEqual([]);
  });

  it('quotes what RFC 4180 needs, and U+2028/U+2029 and edge white space too', () => {
    const sut = leadsCsv([
      buildLead({
        metadata: { a: 'say "hi"', b: 'x,y', c: 'l1\r\nl2', d: 'p\u2028q', e: ' pad', f: 'plain' },
      }),
    ]);

    expect(text(sut.csv)).toBe(
      'phone_number,a,b,c,d,e,f\r\n' +
        '+14155550123,"say ""hi""","x,y","l1\r\nl2","p\u2028q"," pad",plain\r\n',
    );
  });

  it('writes every value that is not a string as its JSON text, -0 included', () => {
    const sut = leadsCsv([
      buildLead({ metadata: { n: 42, z: -0, b: true, nil: null, o: { k: [1, 'a'] }, s: '42' } }),
    ]);

    expect(imported(sut.csv)[0]!.metadata).toEqual({
      n: '42',
      z: '-0',
      b: 'true',
      nil: 'null',
      o: '{"k":[1,"a"]}',
      s: '42',
    });
  });

  it.each([
    ['a phone number that is not E.164', { phone_number: '0415 555 0123' }, 'phone_number_not_e164'],
    ['no phone number', { phone_number: undefined }, 'phone_number_not_e164'],
    ['a lone surrogate in the phone number', { phone_number: '+1415555\ud83d' }, 'phone_number_not_e164'],
    ['metadata that is a list', { metadata: ['a'] }, 'metadata_not_an_object'],
    [
      'a metadata key phone_number',
      { metadata: { phone_number: '+14155550199' } },
      'metadata_key_phone_number',
    ],
    ['an empty metadata key', { metadata: { '': 'x' } }, 'metadata_key_empty'],
    [
      'keys that collide once made well-formed',
      { metadata: { 'a\ud800': 1, 'a\udc00': 2 } },
      'metadata_keys_collide',
    ],
  ])('rejects a lead with %s, and writes the others', (_, overrides, reason) => {
    const bad = buildLead({ id: 'wlead_bad', ...overrides });
    const good = buildLead();

    const sut = leadsCsv([bad, good]);

    expect(sut.rejected).toEqual([{ lead: bad, reason }]);
    expect(sut.leads).toEqual([good]);
    expect(imported(sut.csv)).toHaveLength(1);
  });

  it('takes a lead without metadata, or with null metadata, as one without keys', () => {
    const sut = leadsCsv([buildLead({ metadata: undefined }), buildLead({ metadata: null })]);

    expect(text(sut.csv)).toBe('phone_number\r\n+14155550123\r\n+14155550123\r\n');
  });

  it('replaces a lone surrogate with U+FFFD and reports the lead as altered', () => {
    const lead = buildLead({ metadata: { notes: 'cut \ud83d', 'k\udc00': 'v' } });

    const sut = leadsCsv([lead]);

    expect(imported(sut.csv)[0]!.metadata).toEqual({ notes: 'cut \uFFFD', 'k\uFFFD': 'v' });
    expect(sut.altered).toEqual([{ lead, reason: 'lone_surrogate_replaced' }]);
  });

  it('reports a lead whose empty-string value an importer cannot tell from no value', () => {
    const lead = buildLead({ metadata: { first_name: '' } });

    const sut = leadsCsv([lead]);

    expect(imported(sut.csv)[0]!.metadata).toEqual({});
    expect(sut.altered).toEqual([{ lead, reason: 'empty_value_dropped' }]);
  });

  it('rejects a lead that would take the file over maxBytes', () => {
    const big = buildLead({ id: 'wlead_big', metadata: { notes: 'x'.repeat(200) } });

    const sut = leadsCsv([buildLead(), big], 150);

    expect(sut.rejected).toEqual([{ lead: big, reason: 'row_too_large' }]);
    expect(sut.csv.byteLength).toBeLessThanOrEqual(150);
  });

  it('round-trips through the simulator importer: every cell as the contract says, no lead lost', () => {
    fc.assert(
      fc.property(fc.array(anyLead, { maxLength: 8 }), (leads) => {
        const sut = leadsCsv(leads);

        expect(sut.rejected.map((r) => r.reason)).toEqual(sut.rejected.map(() => 'metadata_keys_collide'));
        expect(sut.leads.length + sut.rejected.length).toBe(leads.length);
        const [header, ...rows] = parseCsv(decodeUtf8(sut.csv));
        expect(rows).toHaveLength(sut.leads.length);
        sut.leads.forEach((lead, at) => {
          const metadata = new Map(
            Object.entries(lead.metadata as JsonObject).map(([k, v]) => [k.toWellFormed(), v]),
          );
          const expected = header!.map((column) =>
            column === 'phone_number'
              ? (lead.phone_number as string)
              : metadata.has(column)
                ? expectedCell(metadata.get(column))
                : '',
          );
          expect(rows[at]).toEqual(expected);
        });
        const phones = sut.leads.length > 0 ? imported(sut.csv).map((row) => row.phone) : [];
        expect(phones).toEqual(sut.leads.map((l) => l.phone_number));
      }),
    );
  });
});

describe('leadCsvFiles', () => {
  const many = (count: number): JsonObject[] =>
    Array.from({ length: count }, (_, i) =>
      buildLead({ id: `wlead_${i}`, metadata: { [`k${i % 3}`]: 'v'.repeat(i % 7) } }),
    );

  it('cuts files of at most maxRows rows, keeping the order of the leads', () => {
    const leads = many(7);

    const files = [...leadCsvFiles(leads, { maxRows: 3, maxBytes: 1 << 20 })];

    expect(files.map((f) => f.leads.length)).toEqual([3, 3, 1]);
    expect(files.flatMap((f) => f.leads)).toEqual(leads);
    expect(files.map((f) => imported(f.csv).length)).toEqual([3, 3, 1]);
  });

  it('keeps every file within maxBytes, with its own columns, and losing no lead', () => {
    fc.assert(
      fc.property(
        fc.array(anyLead, { maxLength: 30 }),
        fc.integer({ min: 40, max: 400 }),
        (leads, maxBytes) => {
          const files = [...leadCsvFiles(leads, { maxRows: 5, maxBytes })];

          for (const file of files) {
            expect(file.csv.byteLength).toBeLessThanOrEqual(maxBytes);
            expect(file.leads.length).toBeLessThanOrEqual(5);
          }
          const written = files.flatMap((f) => f.leads);
          const rejected = files.flatMap((f) => f.rejected.map((r) => r.lead));
          expect(written.length + rejected.length).toBe(leads.length);
          expect(written).toEqual(leads.filter((lead) => !rejected.includes(lead)));
        },
      ),
    );
  });

  it('fills a file exactly to maxBytes: the size it counts is the size it writes', () => {
    const leads = many(10);
    const whole = leadsCsv(leads).csv.byteLength;

    expect([...leadCsvFiles(leads, { maxRows: 100, maxBytes: whole })]).toHaveLength(1);
    expect([...leadCsvFiles(leads, { maxRows: 100, maxBytes: whole - 1 })]).toHaveLength(2);
  });

  it('makes the same files from the same leads (a resumed restore names a file by its number)', () => {
    const leads = many(20);
    const cut = () => [...leadCsvFiles(leads, { maxRows: 4, maxBytes: 300 })].map((f) => text(f.csv));

    expect(cut()).toEqual(cut());
  });

  it('yields nothing for no leads, and one file of rejections when none can be written', () => {
    expect([...leadCsvFiles([])]).toEqual([]);
    const bad = buildLead({ phone_number: 'none' });

    const files = [...leadCsvFiles([bad])];

    expect(files).toHaveLength(1);
    expect(files[0]!.leads).toEqual([]);
    expect(files[0]!.rejected).toEqual([{ lead: bad, reason: 'phone_number_not_e164' }]);
  });
});
