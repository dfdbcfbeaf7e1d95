import { describe, expect, it } from '@jest/globals';
import { createRootLogger } from './logging.js';

/** A logger writing into an array, one parsed object per line. */
function build(level: 'debug' | 'info' | 'warn' | 'error' = 'info') {
  const lines: Array<Record<string, unknown>> = [];
  const sut = createRootLogger(
    { logLevel: level },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { sut, lines };
}

describe('createRootLogger', () => {
  it('writes JSON lines with a level name, an ISO time and the message', () => {
    const { sut, lines } = build();

    sut.info({ context: 'Main' }, 'listening on port 3000');

    expect(lines).toEqual([
      expect.objectContaining({ level: 'info', context: 'Main', msg: 'listening on port 3000' }),
    ]);
    expect(new Date(String(lines[0]!['time'])).toISOString()).toBe(lines[0]!['time']);
  });

  it('redacts messages, string fields at any depth and errors, whatever logs them', () => {
    const { sut, lines } = build('debug');
    const child = sut.child({ teardownId: 'td_1' });

    child.warn('GET failed with Authorization: Bearer dnx_live_abc123 for lead +14155550123');
    child.error(
      {
        err: new Error('postgresql://svc:hunter2@db/x refused'),
        details: { url: 'https://s3/x?X-Amz-Signature=deadbeef' },
      },
      'upload failed',
    );
    child.debug({ lead: { phone_number: '+1 (415) 555-0100' } }, 'lead');

    const text = JSON.stringify(lines);
    for (const secret of ['dnx_live_abc123', '+14155550123', 'hunter2', 'deadbeef', '555-0100']) {
      expect([secret, text.includes(secret)]).toEqual([secret, false]);
    }
    expect(lines.every((line) => line['teardownId'] === 'td_1')).toBe(true);
    expect(lines[1]).toMatchObject({
      err: { type: 'Error', message: 'postgresql://svc:[redacted]@db/x refused' },
    });
  });

  it('leaves out lines below its level', () => {
    const { sut, lines } = build('warn');
    sut.info('not this');
    sut.warn('this');
    expect(lines.map((l) => l['msg'])).toEqual(['this']);
  });
});
