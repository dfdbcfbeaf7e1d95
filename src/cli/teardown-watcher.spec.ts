import { describe, expect, it } from '@jest/globals';
import type { TeardownResource } from './api/api.client.js';
import { CliError } from './cli.error.js';
import { BarProgressView, LineProgressView, watchTeardown } from './teardown-watcher.js';
import { Output } from './output.js';

function teardown(status: string, leadsExported: number, leadsTotal: number | null, step = 'export') {
  const done = ['completed', 'failed', 'aborted', 'rejected'].includes(status);
  return {
    id: 'td_01JB6Z3K4V9Q2W8E5R7T1Y3X6M',
    workflowId: 'wfl_m3v7zb9rk2px',
    status,
    dryRun: false,
    progress: {
      step,
      leadsExported,
      leadsTotal,
      upstreamRequests: Math.ceil(leadsExported / 100) + 1,
      upstreamRequestsLeft: done ? 0 : 12,
      secondsLeft: done ? 0 : 4.8,
      estimatedAt: '2024-05-01T09:00:00.000Z',
    },
  } as TeardownResource;
}

function fakeStream(isTTY: boolean) {
  const stream = { isTTY, columns: 160, text: '', write: (chunk: string) => ((stream.text += chunk), true) };
  return stream;
}

describe(BarProgressView.name, () => {
  it('redraws one bar in place on a terminal, with status, leads and step', () => {
    const stream = fakeStream(true);
    const sut = new BarProgressView(stream as unknown as NodeJS.WritableStream);

    sut.update(teardown('exporting', 120, 420));
    sut.update(teardown('deleting', 420, 420, 'delete'));
    sut.stop();

    expect(stream.text).toContain('exporting');
    expect(stream.text).toContain('120/420 leads exported | step export');
    expect(stream.text).toContain('3 requests, ~12 to go (~5 s)');
    expect(stream.text).toContain('420/420 leads exported | step delete');
    // drawn in place: the cursor goes back to the line's start, no new line between redraws
    expect(stream.text).toContain('\u001b[1G');
    expect(stream.text.trimEnd().split('\n')).toHaveLength(1);
  });

  it('shows an unknown total as ?', () => {
    const stream = fakeStream(true);
    const sut = new BarProgressView(stream as unknown as NodeJS.WritableStream);

    sut.update(teardown('queued', 0, null));
    sut.stop();

    expect(stream.text).toContain('0/? leads exported');
  });
});

describe(LineProgressView.name, () => {
  it('prints a plain, stamped line per change, and nothing when nothing changed', () => {
    const stream = fakeStream(false);
    const output = new Output(false, {
      stdout: stream as unknown as NodeJS.WritableStream,
      stderr: stream as unknown as NodeJS.WritableStream,
    });
    const sut = new LineProgressView(output, () => new Date('2024-05-01T09:00:00.000Z'));

    sut.update(teardown('exporting', 120, 420));
    sut.update(teardown('exporting', 120, 420));
    sut.update(teardown('completed', 420, 420, 'delete'));

    expect(stream.text.split('\n').filter(Boolean)).toEqual([
      '[2024-05-01T09:00:00.000Z] td_01JB6Z3K4V9Q2W8E5R7T1Y3X6M  wfl_m3v7zb9rk2px  exporting  step export  120/420 leads exported  3 requests, ~12 to go (~5 s)',
      '[2024-05-01T09:00:00.000Z] td_01JB6Z3K4V9Q2W8E5R7T1Y3X6M  wfl_m3v7zb9rk2px  completed  step delete  420/420 leads exported  6 requests',
    ]);
    expect(stream.text).not.toContain('\u001b');
  });
});

describe(watchTeardown.name, () => {
  it('gives up after the allowed failed polls, with the last error', async () => {
    const unreachable = new CliError('SERVICE_UNREACHABLE', 'no answer');
    let polls = 0;

    const sut = watchTeardown(
      () => {
        polls += 1;
        return Promise.reject(unreachable);
      },
      { update: () => {}, stop: () => {} },
      { intervalMs: 1, maxFailedPolls: 3, sleep: async () => {} },
    );

    await expect(sut).rejects.toBe(unreachable);
    expect(polls).toBe(3);
  });

  it('stops at once on a refusal that waiting cannot change', async () => {
    const notFound = new CliError('TEARDOWN_NOT_FOUND', 'no such teardown', 1, {}, 404);
    let polls = 0;

    const sut = watchTeardown(
      () => {
        polls += 1;
        return Promise.reject(notFound);
      },
      { update: () => {}, stop: () => {} },
      { intervalMs: 1, sleep: async () => {} },
    );

    await expect(sut).rejects.toBe(notFound);
    expect(polls).toBe(1);
  });
});
