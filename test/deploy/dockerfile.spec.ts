import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';

/** The Dockerfile cannot be built here (no Docker engine): its promises are checked as text. */

const text = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
/** Instructions with their continuation lines joined, comments dropped. */
const instructions = text
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));
const args = new Map(
  instructions
    .filter((line) => line.startsWith('ARG '))
    .map((line) => /^ARG ([A-Z_]+)=(\S+)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!, m[2]!]),
);
const stages = instructions.filter((line) => line.startsWith('FROM '));
const runtime = instructions.slice(instructions.lastIndexOf(stages[stages.length - 1]!));

function jsonForm(instruction: string): string[] {
  const value = JSON.parse(instruction.replace(/^[A-Z]+\s+/, '')) as unknown;
  if (!Array.isArray(value)) throw new Error(`${instruction} is not in JSON (exec) form`);
  return value as string[];
}

describe('Dockerfile', () => {
  it('builds in stages from a Node 24 slim image pinned by digest', () => {
    expect(stages.length).toBeGreaterThan(1);
    for (const stage of stages) {
      const base = stage
        .split(/\s+/)[1]!
        .replace(/^\$\{([A-Z_]+)\}$/, (_all, name: string) => args.get(name) ?? '');
      if (stages.some((s) => s.endsWith(` AS ${base}`))) continue; // an earlier stage
      expect(base).toMatch(/^node:24\.\d+\.\d+-[a-z]+-slim@sha256:[0-9a-f]{64}$/);
    }
  });

  it('runs as a non-root user', () => {
    const users = runtime.filter((line) => line.startsWith('USER '));
    expect(users.length).toBeGreaterThan(0);
    const user = users[users.length - 1]!.slice(5).trim();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
  });

  it('runs node dist/main.js with the Node flags of package.json (config.nodeOptions) under an init, without npm', () => {
    const nodeOptions = (
      JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
        config: { nodeOptions: string };
      }
    ).config.nodeOptions.split(/\s+/);
    const entrypoint = jsonForm(runtime.find((line) => line.startsWith('ENTRYPOINT '))!);
    expect(entrypoint[0]).toMatch(/\/(tini|dumb-init)$/);
    expect(runtime.some((line) => /apt-get install .*\b(tini|dumb-init)\b/.test(line))).toBe(true);
    const cmd = jsonForm(runtime.find((line) => line.startsWith('CMD '))!);
    expect(cmd).toEqual(['node', ...nodeOptions, 'dist/main.js']);
    expect([...entrypoint, ...cmd]).not.toContain('npm');
  });

  it('has a health check against /healthz that needs no curl', () => {
    const check = runtime.find((line) => line.startsWith('HEALTHCHECK '));
    expect(check).toBeDefined();
    expect(check).toContain('/healthz');
    expect(check).toMatch(/CMD \["node", "-e"/);
  });
});
