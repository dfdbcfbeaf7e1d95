import { Presets, SingleBar } from 'cli-progress';
import type { TeardownResource } from './api/api.client.js';
import { CliError } from './cli.error.js';
import type { Output } from './output.js';
import { leadsText, requestsText, teardownSummary } from './render.js';

export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['completed', 'failed', 'rejected', 'aborted']);

/** How a teardown's progress is shown while it is watched. */
export interface ProgressView {
  update(teardown: TeardownResource): void;
  /** The watch ended (the teardown reached a terminal status, or the watch failed). */
  stop(): void;
}

/** On a terminal: one bar redrawn in place (cli-progress) with status, step and leads. */
export class BarProgressView implements ProgressView {
  private readonly bar: SingleBar;
  private started = false;

  constructor(stream: NodeJS.WritableStream) {
    this.bar = new SingleBar(
      {
        stream: stream,
        format:
          '{id} {status} |{bar}| {value}/{totalText} leads exported | step {step} | {requests} | {duration_formatted}',
        hideCursor: true,
        barsize: 30,
        // redraw on every update: a poll is at most a few a second
        fps: 10,
      },
      Presets.shades_classic,
    );
  }

  update(teardown: TeardownResource): void {
    const { leadsExported, leadsTotal } = teardown.progress;
    const payload = {
      id: teardown.id,
      status: teardown.status.padEnd(17),
      step: teardown.progress.step.padEnd(8),
      totalText: leadsTotal ?? '?',
      requests: requestsText(teardown),
    };
    const total = Math.max(leadsTotal ?? 0, leadsExported, 1);
    if (!this.started) {
      this.bar.start(total, leadsExported, payload);
      this.started = true;
      return;
    }
    this.bar.setTotal(total);
    this.bar.update(leadsExported, payload);
  }

  stop(): void {
    if (this.started) this.bar.stop();
  }
}

/** Not on a terminal (a log, a pipe): a plain line whenever the status, the step or the leads change. */
export class LineProgressView implements ProgressView {
  private last = '';

  constructor(
    private readonly output: Output,
    private readonly now: () => Date = () => new Date(),
  ) {}

  update(teardown: TeardownResource): void {
    const line = `${teardownSummary(teardown)}  step ${teardown.progress.step}  ${leadsText(teardown)}  ${requestsText(teardown)}`;
    if (line === this.last) return;
    this.last = line;
    this.output.info(`[${this.now().toISOString()}] ${line}`);
  }

  stop(): void {}
}

/** `--json`: one JSON line (the teardown resource) per change. */
export class JsonProgressView implements ProgressView {
  private last = '';

  constructor(private readonly stream: NodeJS.WritableStream) {}

  update(teardown: TeardownResource): void {
    const { updatedAt: _updatedAt, ...rest } = teardown;
    const key = JSON.stringify(rest);
    if (key === this.last) return;
    this.last = key;
    this.stream.write(`${JSON.stringify(teardown)}\n`);
  }

  stop(): void {}
}

export function progressViewFor(output: Output): ProgressView {
  if (output.json) return new JsonProgressView(output.streams.stdout);
  return output.isTTY ? new BarProgressView(output.streams.stdout) : new LineProgressView(output);
}

export interface WatchOptions {
  intervalMs: number;
  /** Polls in a row that may fail (no answer, 429, 5xx) before the watch gives up. */
  maxFailedPolls?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Polls a teardown until it reaches a terminal status, showing each change. A poll that got no
 * answer, or a 429 or 5xx, is tried again (the service may be restarting); any other refusal
 * ends the watch with the API's error.
 */
export async function watchTeardown(
  fetchTeardown: () => Promise<TeardownResource>,
  view: ProgressView,
  options: WatchOptions,
): Promise<TeardownResource> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const maxFailed = options.maxFailedPolls ?? 30;
  let failed = 0;
  try {
    for (;;) {
      let teardown: TeardownResource;
      try {
        teardown = await fetchTeardown();
        failed = 0;
      } catch (error) {
        if (!isTransient(error) || ++failed >= maxFailed) throw error;
        await sleep(options.intervalMs);
        continue;
      }
      view.update(teardown);
      if (TERMINAL_STATUSES.has(teardown.status)) return teardown;
      await sleep(options.intervalMs);
    }
  } finally {
    view.stop();
  }
}

function isTransient(error: unknown): boolean {
  if (!(error instanceof CliError)) return false;
  if (error.code === 'SERVICE_UNREACHABLE') return true;
  return error.status !== undefined && (error.status === 429 || error.status >= 500);
}
