import { describe, expect, it } from '@jest/globals';
import { jsonText } from '../common/json-text.js';
import { build, ORIGIN } from '../dialnexa/testing/mock-dialnexa.js';
import { LeadCollector } from './lead-collector.js';

const WF = 'wfl_m3v7zb9rk2px';
const PAGE_1 = `/v1/workflows/${WF}/leads?page=1&limit=100`;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const utf8 = (text: string) => Buffer.from(text, 'utf8');

/**
 * Bodies a hostile DialNexa may serve for one page of leads, as bytes: every lead the client
 * parses from it must reach the archive as jsonText(lead), whether its bytes are copied
 * (canonical-lines.ts) or it is serialised again. The number is how many leads' bytes are
 * copied: the rest were not served as jsonText writes them (or not as valid UTF-8).
 */
const bodies: Array<[string, Buffer, number]> = [
  ['a bare array', utf8('[{"id":"a","n":1},{"id":"b"}]'), 2],
  ['meta before data', utf8('{"meta":{"total":2,"data":[{"id":"x"}]},"data":[{"id":"a"},{"id":"b"}]}'), 2],
  [
    'a data key inside an item',
    utf8('{"data":[{"id":"a","data":[{"id":"x"}]},{"data":{"data":1},"id":"b"}]}'),
    2,
  ],
  ['the envelope', utf8('{"statusCode":200,"message":"ok","data":[{"id":"a"}],"meta":{"total":1}}'), 1],
  [
    'the envelope around {data, meta}',
    utf8('{"statusCode":200,"data":{"meta":{"total":1},"data":[{"id":"a"}]}}'),
    1,
  ],
  [
    'data twice, the last one kept',
    utf8('{"data":[{"id":"z"},{"id":"y"}],"data":[{"id":"a"},{"id":"b"}]}'),
    2,
  ],
  ['an id twice in one lead', utf8('[{"id":"a","id":"b"},{"id":"b","x":1}]'), 0],
  [
    'escaped and raw spellings',
    utf8('[{"id":"\\u0061"},{"id":"b","u":"\\/","v":"A"},{"id":"c","s":"\\ud83d\\ude00"}]'),
    0,
  ],
  [
    'numbers spelt every way',
    utf8('[{"id":"a","n":[1e2,1E+2,100.0,-0.0,0.1e-5,1e400,-1e400,-0,1e-400,-1e-400]}]'),
    1,
  ],
  ['whitespace between tokens', utf8('\r\n [\t{ "id" :\r\n"a" , "n":\t-0 }\n,{"id":"b"} ]\r\n'), 2],
  ['a byte order mark', Buffer.concat([BOM, utf8('[{"id":"a"}]')]), 1],
  [
    'invalid UTF-8 (replaced by U+FFFD)',
    Buffer.concat([utf8('[{"id":"a","s":"'), Buffer.from([0xc3, 0x28, 0xff]), utf8('"}]')]),
    0,
  ],
  [
    'an overlong encoding',
    Buffer.concat([utf8('[{"id":"a","s":"'), Buffer.from([0xc0, 0xaf]), utf8('"}]')]),
    0,
  ],
  [
    'an encoded surrogate',
    Buffer.concat([utf8('[{"id":"a","s":"'), Buffer.from([0xed, 0xa0, 0x80]), utf8('"}]')]),
    0,
  ],
  [
    'integer-like keys out of order',
    utf8('[{"id":"a","b":1,"2":2,"1":3},{"1":1,"id":"b","4294967295":0,"4294967294":0}]'),
    0,
  ],
  [
    '__proto__, constructor and empty keys',
    utf8('[{"__proto__":{"id":"x"},"id":"a","constructor":1,"":2},{"id":"b","__proto__":null}]'),
    2,
  ],
  ['hostile text', utf8('[{"id":"a","s":"\u2028\u2029\\u0000\\ud800 \\udfff 😀 ﻿\u007f"}]'), 1],
  ['keys with escapes', utf8('[{"id":"a","\\u0069d":"b"},{"i\\"d":1,"id":"c"}]'), 1],
  [
    'a long string with escapes past its first bytes',
    utf8(`[{"id":"a","s":"${'x'.repeat(40)}\\"\\\\\\n${'é'.repeat(30)}\\ud800"}]`),
    1,
  ],
];

describe('LeadCollector on the bodies a hostile DialNexa may serve', () => {
  it.each(bodies)(
    '%s: every line is jsonText of the lead JSON.parse made',
    async (_name, body, copiedLines) => {
      const { sut: client, agent } = build();
      agent.get(ORIGIN).intercept({ method: 'GET', path: PAGE_1 }).reply(200, body);
      const sut = new LeadCollector(client.pages(WF, 'leads'));

      const lines: string[] = [];
      const expected: string[] = [];
      let copied = 0;
      for await (const page of sut.distinctPages()) {
        for (const [index, lead] of page.leads.entries()) {
          const line = page.lines?.[index];
          if (line) copied += 1;
          lines.push(line ? Buffer.from(line).toString('utf8') : jsonText(lead));
          expected.push(jsonText(lead));
        }
      }

      expect(copied).toBe(copiedLines);
      expect(lines).toEqual(expected);
      expect(Buffer.from(lines.join('\n'), 'utf8')).toEqual(Buffer.from(expected.join('\n'), 'utf8'));
    },
  );
});
