/**
 * What the bench reads about processes and the machine from /proc (Linux only): a process's peak
 * and current resident set, its CPU time, and the machine the figures were measured on.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';

const CLOCK_TICKS_PER_SECOND = (() => {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number(out.stdout?.trim());
  return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
})();

function statusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (!match) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(match[1]);
}

/** Peak resident set since the process started (VmHWM), in MB (10^6 bytes). */
export function peakRssMb(pid: number): number {
  return (statusKb(pid, 'VmHWM') * 1024) / 1e6;
}

/** Current resident set (VmRSS), in MB. */
export function rssMb(pid: number): number {
  return (statusKb(pid, 'VmRSS') * 1024) / 1e6;
}

/** User plus system CPU time the process has used so far (utime + stime of /proc/<pid>/stat), in s. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the command name (field 2) is in parentheses and may hold spaces: count fields after it
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / CLOCK_TICKS_PER_SECOND;
}

/**
 * CPU seconds the whole machine spent busy so far (user, nice, system, irq, softirq and steal of
 * /proc/stat, all cores): minus the processes the bench accounts for, what others used meanwhile.
 */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return (
    ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) /
    CLOCK_TICKS_PER_SECOND
  );
}

export function loadAverage(): number[] {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryMiB: number;
  kernel: string;
  node: string;
}

export function describeMachine(): Machine {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  return {
    cpuModel: model,
    cores: cpus().length,
    memoryMiB: Math.round(totalmem() / 2 ** 20),
    kernel: release(),
    node: process.version,
  };
}

export interface Checkout {
  commit: string;
  branch: string;
  /** Uncommitted changes to tracked files: the figures may not belong to `commit`. */
  dirty: boolean;
}

export function describeCheckout(cwd: string): Checkout | null {
  const git = (...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
  try {
    return {
      commit: git('rev-parse', 'HEAD'),
      branch: git('rev-parse', '--abbrev-ref', 'HEAD'),
      dirty: git('status', '--porcelain', '--untracked-files=no') !== '',
    };
  } catch (error) {
    // a fresh clone without git metadata (an exported tarball) still benches
    console.warn(`bench: no git checkout information (${(error as Error).message.split('\n')[0]})`);
    return null;
  }
}

/**
 * Whether an `npm test` holds its machine-wide lock now. Its CPU use would distort the figures,
 * so the results say so. (`flock -n` takes the free lock for an instant, which is harmless.)
 */
export function testRunActive(lockFile: string): boolean {
  const out = spawnSync('flock', ['-n', lockFile, 'true']);
  return out.status !== 0 && out.error === undefined;
}
