import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ENV_SCHEMA, loadConfig } from '../../src/config/app.config.js';
import { QUEUE_DRAIN_TIMEOUT_MS } from '../../src/jobs/job-queue.service.js';

/**
 * docker-compose.yml cannot run here (no Docker engine), so it is checked against what it
 * must agree with: the config schema, the queue's drain time, and its own services.
 */

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
  healthcheck?: unknown;
}

const root = new URL('../../', import.meta.url);
const compose = parse(readFileSync(new URL('docker-compose.yml', root), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const services = compose.services;

/** Compose's `${NAME:-default}` with nothing set in the environment: the defaults. */
function interpolate(value: string): string {
  return value.replace(
    /\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g,
    (_all, _name: string, fallback?: string) => fallback ?? '',
  );
}

function environmentOf(name: string): Record<string, string> {
  const env = services[name]?.environment ?? {};
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, interpolate(String(value))]));
}

function seconds(duration: string): number {
  const match = /^(\d+)(ms|s|m)$/.exec(duration);
  if (!match) throw new Error(`unreadable duration ${duration}`);
  const n = Number(match[1]);
  return match[2] === 'ms' ? n / 1000 : match[2] === 'm' ? n * 60 : n;
}

const schemaKeys = Object.keys(ENV_SCHEMA.shape);
/** Variables without a default: the schema refuses them unset. */
const requiredKeys = schemaKeys.filter(
  (key) => !ENV_SCHEMA.shape[key as keyof typeof ENV_SCHEMA.shape].safeParse(undefined).success,
);

describe('docker-compose.yml', () => {
  it('brings up PostgreSQL, the S3 store and its bucket, the migrations, the simulator and the service', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['bucket-init', 'migrate', 'postgres', 's3', 'service', 'simulator'].sort(),
    );
  });

  it('pins every image it pulls by digest; the others are built from the Dockerfile', () => {
    const images = Object.entries(services).map(([name, service]) => ({
      name,
      image: service.image,
      built: service.build !== undefined,
    }));
    for (const { name, image } of images.filter((i) => i.built))
      expect({ name, image }).toEqual({ name, image: 'dialnexa-teardown:local' });
    for (const { name, image } of images.filter((i) => !i.built))
      expect({ name, image }).toEqual({
        name,
        image: expect.stringMatching(/^[a-z0-9./-]+:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}$/),
      });
  });

  it("runs the simulator on the Dockerfile's Node image", () => {
    const dockerfile = readFileSync(new URL('Dockerfile', root), 'utf8');
    const nodeImage = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];
    expect(nodeImage).toBeDefined();
    expect(services.simulator?.image).toBe(nodeImage);
  });

  it('publishes ports on 127.0.0.1 only', () => {
    const published = Object.entries(services).flatMap(([name, s]) =>
      (s.ports ?? []).map((p) => ({ name, port: p })),
    );
    expect(published.length).toBeGreaterThan(0);
    for (const { name, port } of published) {
      expect({ name, port }).toEqual({ name, port: expect.stringMatching(/^127\.0\.0\.1:/) });
    }
  });

  it('gives the service every required variable, only variables the schema knows, and a configuration that loads', () => {
    const env = environmentOf('service');
    expect(Object.keys(env).filter((key) => !schemaKeys.includes(key))).toEqual([]);
    expect(requiredKeys.filter((key) => !(key in env))).toEqual([]);
    expect(requiredKeys).toEqual(
      expect.arrayContaining(['DATABASE_URL', 'DIALNEXA_API_KEY', 'S3_BUCKET', 'API_KEYS']),
    );
    const config = loadConfig(env);
    expect(config.archive.lockMode).not.toBe('NONE');
  });

  it('points the service at the services of this file, with their credentials', () => {
    const env = environmentOf('service');
    const config = loadConfig(env);
    const db = new URL(config.databaseUrl);
    const postgres = environmentOf('postgres');
    expect(db.hostname).toBe('postgres');
    expect(decodeURIComponent(db.username)).toBe(postgres.POSTGRES_USER);
    expect(decodeURIComponent(db.password)).toBe(postgres.POSTGRES_PASSWORD);
    expect(db.pathname).toBe(`/${postgres.POSTGRES_DB}`);
    expect(environmentOf('migrate').DATABASE_URL).toBe(env.DATABASE_URL);

    expect(new URL(config.dialnexa.baseUrl).hostname).toBe('simulator');
    expect(new URL(config.dialnexa.baseUrl).port).toBe(environmentOf('simulator').SIM_PORT);
    expect(config.dialnexa.apiKey).toBe(environmentOf('simulator').SIM_API_KEY);

    const s3 = environmentOf('s3');
    expect(new URL(config.s3.endpoint ?? '').hostname).toBe('s3');
    expect(config.s3.accessKeyId).toBe(s3.AWS_ACCESS_KEY_ID);
    expect(config.s3.secretAccessKey).toBe(s3.AWS_SECRET_ACCESS_KEY);
    const init = environmentOf('bucket-init');
    for (const key of ['S3_BUCKET', 'S3_ENDPOINT', 'S3_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'])
      expect({ key, value: init[key] }).toEqual({ key, value: env[key] });
  });

  it('signs presigned URLs for the S3 port published on the host', () => {
    const config = loadConfig(environmentOf('service'));
    const publicEndpoint = new URL(config.s3.publicEndpoint ?? '');
    const s3Port = interpolate(services.s3?.ports?.[0] ?? '').split(':');
    expect(publicEndpoint.hostname).toBe('127.0.0.1');
    expect(publicEndpoint.port).toBe(s3Port[1]);
    expect(s3Port[2]).toBe(new URL(config.s3.endpoint ?? '').port);
  });

  it('publishes the service on the port it listens on', () => {
    const config = loadConfig(environmentOf('service'));
    expect(interpolate(services.service?.ports?.[0] ?? '').split(':')[2]).toBe(String(config.port));
  });

  it('lets a stopping service drain its queue', () => {
    expect(seconds(services.service?.stop_grace_period ?? '10s') * 1000).toBeGreaterThan(
      QUEUE_DRAIN_TIMEOUT_MS,
    );
  });

  it('starts the service after its migrations, its bucket (with Object Lock) and the simulator', () => {
    expect(services.service?.depends_on).toEqual({
      migrate: { condition: 'service_completed_successfully' },
      'bucket-init': { condition: 'service_completed_successfully' },
      simulator: { condition: 'service_healthy' },
    });
    expect(services['bucket-init']?.command).toEqual(['node', 'scripts/s3-create-bucket.mjs']);
    expect(services.migrate?.command).toEqual(['node', 'dist/db/migrate.cli.js']);
    expect(loadConfig(environmentOf('service')).migrateOnStart).toBe(false);
  });

  it('runs no npm in front of a process', () => {
    for (const [name, service] of Object.entries(services))
      expect({ name, command: service.command?.[0] }).not.toEqual({ name, command: 'npm' });
  });
});
