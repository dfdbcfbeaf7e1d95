/**
 * The standalone DialNexa simulator (test/simulator/main.ts) as a child process, driven through
 * its control API. The bench runs it in a process of its own so that the service, the simulator
 * and the floor's bare client each have their own event loop, as they would in production.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { RecordedRequest } from '../simulator/dialnexa-simulator.ts';

export interface SimulatorSettings {
  /** `<requests>/<window ms>`, as SIM_RATE_LIMIT takes it. */
  rateLimit: string;
  maxTranscriptLength: number;
  seed: number;
}

export class SimulatorProcess {
  url = '';
  apiKey = '';
  private readonly settings: SimulatorSettings;
  private child: ChildProcess | null = null;
  private output = '';

  constructor(settings: SimulatorSettings) {
    this.settings = settings;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<this> {
    const child = spawn(
      process.execPath,
      ['--experimental-strip-types', '--no-warnings', 'test/simulator/main.ts'],
      {
        env: {
          PATH: process.env['PATH'] ?? '',
          SIM_PORT: '0',
          SIM_HOST: '127.0.0.1',
          SIM_SEED: String(this.settings.seed),
          SIM_RATE_LIMIT: this.settings.rateLimit,
          SIM_MAX_TRANSCRIPT_LENGTH: String(this.settings.maxTranscriptLength),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    child.stderr?.on('data', (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
    });
    const ready = await new Promise<{ url: string; apiKey: string }>((resolve, reject) => {
      let line = '';
      const timer = setTimeout(
        () => reject(new Error(`the simulator did not start:\n${this.output}`)),
        30_000,
      );
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the simulator exited with ${code}:\n${this.output}`));
      });
      child.stdout?.on('data', (chunk: Buffer) => {
        line += chunk.toString();
        const end = line.indexOf('\n');
        if (end < 0) return;
        clearTimeout(timer);
        resolve(JSON.parse(line.slice(0, end)) as { url: string; apiKey: string });
      });
    });
    this.url = ready.url;
    this.apiKey = ready.apiKey;
    return this;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }

  /** A workflow as the seed generates it (hostile values included); returns its id. */
  async addWorkflow(options: { nodes: number; edges: number; leads: number }): Promise<string> {
    const body = (await this.control('POST', '/__sim/workflows', options)) as { id: string };
    return body.id;
  }

  async requests(): Promise<RecordedRequest[]> {
    return (await this.control('GET', '/__sim/requests')) as RecordedRequest[];
  }

  async clearRequests(): Promise<void> {
    await this.control('DELETE', '/__sim/requests');
  }

  private async control(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`simulator ${method} ${path} answered ${response.status}: ${text}`);
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  }
}
