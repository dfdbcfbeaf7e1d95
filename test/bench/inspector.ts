/**
 * `npm run bench -- --profile`: where the service's time and memory go. The service is started
 * with `--inspect=127.0.0.1:0`; the bench attaches over the inspector protocol, samples the CPU
 * during the teardown only, and reads the V8 heap before and after a forced garbage collection
 * (live data versus garbage V8 had not collected yet). Profiling slows the service a little:
 * profiled figures are marked as such and are not the ones to quote.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Seconds sampled (the teardown's wall time, idle included). */
  sampledS: number;
  byArea: Array<{ area: string; seconds: number }>;
  byFunction: Array<{ fn: string; seconds: number }>;
}

export interface HeapUsage {
  usedMb: number;
  totalMb: number;
}

/** `process.memoryUsage()` of the service, in MB: what of its RSS is V8 heap, and what Buffers. */
export interface MemoryUsage {
  rssMb: number;
  heapUsedMb: number;
  externalMb: number;
  arrayBuffersMb: number;
}

export class InspectorSession {
  private readonly socket: WebSocket;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.addEventListener('message', (event: MessageEvent) => {
      const message = JSON.parse(String(event.data)) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
      };
      if (message.id === undefined) return; // an event: none is subscribed to
      const waiter = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if (message.error) waiter?.reject(new Error(`inspector: ${message.error.message}`));
      else waiter?.resolve(message.result);
    });
  }

  /** Attaches to the inspector whose `ws://` URL the process printed on stderr. */
  static async attach(processOutput: string): Promise<InspectorSession> {
    const url = /Debugger listening on (ws:\/\/\S+)/.exec(processOutput)?.[1];
    if (!url) throw new Error('the service printed no inspector URL (started without --inspect?)');
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve(), { once: true });
      socket.addEventListener('error', () => reject(new Error(`cannot attach to ${url}`)), { once: true });
    });
    return new InspectorSession(socket);
  }

  send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  async startProfiling(): Promise<void> {
    await this.send('Profiler.enable');
    await this.send('Profiler.setSamplingInterval', { interval: 1000 });
    await this.send('Profiler.start');
  }

  async stopProfiling(): Promise<CpuProfile> {
    const { profile } = await this.send<{ profile: CpuProfile }>('Profiler.stop');
    return profile;
  }

  /** The V8 heap now, and after a full garbage collection: what is live, what was garbage. */
  async heap(): Promise<{ before: HeapUsage; afterGc: HeapUsage }> {
    const read = async (): Promise<HeapUsage> => {
      const usage = await this.send<{ usedSize: number; totalSize: number }>('Runtime.getHeapUsage');
      return { usedMb: round1(usage.usedSize / 1e6), totalMb: round1(usage.totalSize / 1e6) };
    };
    const before = await read();
    await this.send('HeapProfiler.collectGarbage');
    return { before, afterGc: await read() };
  }

  async memoryUsage(): Promise<MemoryUsage> {
    const { result } = await this.send<{ result: { value: string } }>('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    });
    const usage = JSON.parse(result.value) as Record<string, number>;
    const mb = (name: string) => round1((usage[name] ?? 0) / 1e6);
    return {
      rssMb: mb('rss'),
      heapUsedMb: mb('heapUsed'),
      externalMb: mb('external'),
      arrayBuffersMb: mb('arrayBuffers'),
    };
  }

  close(): void {
    this.socket.close();
  }
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

/**
 * Self time by area (the service's own modules under dist/, each npm package, each node:
 * module, V8's garbage collector, idle) and by function.
 */
export function summarizeProfile(profile: CpuProfile, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, ProfileNode>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node);
  /** A native function is named with the nearest JavaScript caller: `write` alone says little. */
  const callerOf = (id: number): string => {
    for (let node = parentOf.get(id); node; node = parentOf.get(node.id)) {
      const { url, functionName, lineNumber } = node.callFrame;
      if (url !== '') return ` <- ${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}`;
    }
    return '';
  };
  const self = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const micros = profile.timeDeltas[i] ?? 0;
    self.set(id, (self.get(id) ?? 0) + micros);
    total += micros;
  });
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, micros] of self) {
    const frame = byId.get(id)!.callFrame;
    const native = frame.url === '' && !frame.functionName.startsWith('(');
    const area = areaOf(frame);
    areas.set(area, (areas.get(area) ?? 0) + micros);
    const name = native
      ? `(native) ${frame.functionName}${callerOf(id)}`
      : `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    functions.set(name, (functions.get(name) ?? 0) + micros);
  }
  const sorted = (map: Map<string, number>) => [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  return {
    sampledS: total / 1e6,
    byArea: sorted(areas).map(([area, micros]) => ({ area, seconds: micros / 1e6 })),
    byFunction: sorted(functions).map(([fn, micros]) => ({ fn, seconds: micros / 1e6 })),
  };
}

function areaOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : `(native) ${functionName}`;
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (inModules) return inModules[1]!;
  const inDist = /\/dist\/(.+)$/.exec(url);
  if (inDist) return `dist/${inDist[1]}`;
  if (url.startsWith('node:')) {
    const internal = /^node:internal\/([^/]+)/.exec(url);
    return internal ? `node:internal/${internal[1]}` : url;
  }
  return url;
}

function shortUrl(url: string): string {
  const inModules = /node_modules\/(.+)$/.exec(url);
  if (inModules) return inModules[1]!;
  const inDist = /\/(dist\/.+)$/.exec(url);
  return inDist ? inDist[1]! : url;
}
