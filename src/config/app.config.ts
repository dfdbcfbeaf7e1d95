import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { z } from 'zod';

/**
 * The one place that reads the environment. Every variable of the service contract is parsed
 * and checked here at start-up; a bad configuration stops the process before it listens, naming
 * every bad variable at once.
 */

export const ROLES = ['requester', 'approver', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export type ArchiveLockMode = 'COMPLIANCE' | 'GOVERNANCE' | 'NONE';

export interface ApiCaller {
  name: string;
  /** SHA-256 of the key: plaintext keys are hashed at start-up and never kept. */
  keySha256: Buffer;
  roles: Role[];
}

export interface DialnexaConfig {
  baseUrl: string;
  apiKey: string;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  /** Attempts of an idempotent GET before it fails (the first try included). */
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** The longest a request will wait for a rate-limit window before failing retryably. */
  maxRateLimitWaitMs: number;
  /** `shared`: the key's rate window is kept in PostgreSQL for every replica; `process`: per process. */
  rateBudget: 'shared' | 'process';
  /** Pages of one listing requested ahead of its reader once page 1 gave `meta.totalPages`. */
  pageConcurrency: number;
}

export interface S3Config {
  bucket: string;
  endpoint: string | undefined;
  /**
   * The endpoint presigned download URLs name, when callers reach the store at another address
   * than the service does (a container network's name is not the host's): S3_PUBLIC_ENDPOINT.
   */
  publicEndpoint?: string | undefined;
  region: string;
  forcePathStyle: boolean;
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
}

export interface ArchiveConfig {
  prefix: string;
  lockMode: ArchiveLockMode;
  retentionDays: number;
  /** Part size of multipart uploads. */
  partSizeBytes: number;
  /**
   * The part buffers of every upload running in the process at once, whatever RUNNER_CONCURRENCY:
   * an upload waits for room rather than allocate past it.
   */
  uploadBufferBytes: number;
}

export interface RunnerConfig {
  /** False for a replica that serves the API only. */
  enabled: boolean;
  concurrency: number;
  leaseSeconds: number;
  /** Claims in a row that finish no step before the teardown fails with TEARDOWN_CRASH_LOOP. */
  maxClaimsWithoutProgress: number;
  deleteSettleTimeoutS: number;
  deleteBackoffBaseMs: number;
  deleteBackoffMaxMs: number;
  /** How often stalled teardowns (no live lease, no job) are found and re-queued. */
  sweepIntervalS: number;
  /** Tries of a step that failed retryably (the dependency may come back) before it is recorded. */
  stepAttempts: number;
  stepBackoffMs: number;
}

export interface ApiRateLimitConfig {
  /** Sustained requests per minute per caller (API key name). */
  perMinute: number;
  /** Requests a caller may send at once before the sustained rate applies. */
  burst: number;
}

export interface AuditAnchorConfig {
  /** How often the chain head is anchored in the bucket (besides at each teardown's end). */
  intervalS: number;
  /** Key prefix of the anchors inside the archive bucket; one series per prefix. */
  prefix: string;
}

export interface ReceiptConfig {
  /** Ed25519 private key (PKCS#8 PEM) that signs deletion receipts; null: no receipts. */
  signingKey: string | null;
  /** Ed25519 public keys (SPKI PEM) of earlier signing keys, still served in the JWKS. */
  previousPublicKeys: string[];
}

/** A person the SSO proxy may name, and who they are in the console. */
export interface ConsoleSsoUser {
  name: string;
  roles: Role[];
}

export interface ConsoleConfig {
  sessionTtlMinutes: number;
  /** Lower-case header name the SSO proxy puts the identity in; null: no SSO. */
  ssoHeader: string | null;
  /** Addresses (IPs or CIDRs) of the proxies whose SSO header and X-Forwarded-* are believed. */
  trustedProxies: string[];
  /** Identity (as the proxy sends it, compared case-insensitively) → the console caller. */
  ssoUsers: Map<string, ConsoleSsoUser>;
}

export interface AppConfig {
  port: number;
  databaseUrl: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  migrateOnStart: boolean;
  bodyLimitBytes: number;
  approvalsRequired: number;
  approvalTtlHours: number;
  dialnexa: DialnexaConfig;
  s3: S3Config;
  archive: ArchiveConfig;
  runner: RunnerConfig;
  apiKeys: ApiCaller[];
  apiRateLimit: ApiRateLimitConfig;
  auditAnchors: AuditAnchorConfig;
  receipts: ReceiptConfig;
  console: ConsoleConfig;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .transform((v) => (v === undefined ? fallback : v === 'true' || v === '1'));

const int = (fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback;
      if (!/^\d+$/.test(v)) {
        ctx.addIssue({ code: 'custom', message: `must be a whole number from ${min} to ${max}` });
        return z.NEVER;
      }
      const n = Number(v);
      if (n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    });

const required = z.string({ error: 'is required' }).min(1, 'is required');

const url = (what: string) =>
  z.string().refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'http:' || u.protocol === 'https:' || u.protocol.startsWith('postgres');
    } catch {
      return false; // not a URL: reported by the message below
    }
  }, `must be ${what}`);

const RESERVED_CALLER_NAMES = new Set(['system']);

const apiKeyEntry = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9_.:@-]+$/, 'name: letters, digits and _.:@- only'),
  key: z.string().min(16, 'key: at least 16 characters (or sha256:<64 hex>)'),
  roles: z.array(z.enum(ROLES)).min(1),
});

const apiKeys = z.string({ error: 'is required' }).transform((raw, ctx) => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a JSON array of {name, key, roles}' });
    return z.NEVER;
  }
  const result = z.array(apiKeyEntry).min(1).safeParse(parsed);
  if (!result.success) {
    // never echo the keys themselves
    ctx.addIssue({
      code: 'custom',
      message: result.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; '),
    });
    return z.NEVER;
  }
  const callers: ApiCaller[] = [];
  for (const entry of result.data) {
    const hashed = /^sha256:([0-9a-fA-F]{64})$/.exec(entry.key);
    if (entry.key.startsWith('sha256:') && !hashed) {
      ctx.addIssue({
        code: 'custom',
        message: `caller ${entry.name}: sha256: must be followed by 64 hex digits`,
      });
      return z.NEVER;
    }
    if (callers.some((c) => c.name === entry.name)) {
      ctx.addIssue({ code: 'custom', message: `caller ${entry.name} is listed twice` });
      return z.NEVER;
    }
    // the audit trail's actor for steps the service takes on its own: a caller by that name
    // would pass its own actions off as the service's
    if (RESERVED_CALLER_NAMES.has(entry.name.toLowerCase())) {
      ctx.addIssue({
        code: 'custom',
        message: `caller name ${entry.name} is reserved for the service itself`,
      });
      return z.NEVER;
    }
    callers.push({
      name: entry.name,
      keySha256: hashed
        ? Buffer.from(hashed[1]!, 'hex')
        : createHash('sha256').update(entry.key, 'utf8').digest(),
      roles: [...new Set(entry.roles)],
    });
  }
  return callers;
});

/** An env file often holds a PEM on one line with `\\n` for its line breaks. */
const pemText = (raw: string) => raw.replace(/\\n/g, '\n').trim();

const ed25519PrivateKey = z.string().transform((raw, ctx) => {
  const pem = pemText(raw);
  try {
    if (createPrivateKey({ key: pem, format: 'pem' }).asymmetricKeyType === 'ed25519') return `${pem}\n`;
  } catch {
    // not a PEM private key at all: reported below, without echoing the secret
  }
  ctx.addIssue({ code: 'custom', message: 'must be an Ed25519 private key in PKCS#8 PEM' });
  return z.NEVER;
});

const ed25519PublicKeys = z.string().transform((raw, ctx) => {
  const blocks = pemText(raw).match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g) ?? [];
  const keys: string[] = [];
  for (const block of blocks) {
    try {
      if (createPublicKey({ key: block, format: 'pem' }).asymmetricKeyType === 'ed25519') {
        keys.push(`${block}\n`);
        continue;
      }
    } catch {
      // reported below with the block's position
    }
    ctx.addIssue({ code: 'custom', message: `key ${keys.length + 1} is not an Ed25519 SPKI PEM` });
    return z.NEVER;
  }
  if (keys.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'must hold Ed25519 public keys in SPKI PEM' });
    return z.NEVER;
  }
  return keys;
});

const trustedProxies = z.string().transform((raw, ctx) => {
  const entries = raw
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e.length > 0);
  for (const entry of entries) {
    if (!isAddressOrCidr(entry)) {
      ctx.addIssue({ code: 'custom', message: `${entry.slice(0, 60)} is not an IP address or CIDR` });
      return z.NEVER;
    }
    if (coversEveryone(entry)) {
      ctx.addIssue({
        code: 'custom',
        message: `${entry} is everyone: anybody's SSO header and X-Forwarded-* would be believed; name the proxies`,
      });
      return z.NEVER;
    }
  }
  return entries;
});

function isAddressOrCidr(entry: string): boolean {
  const [address, bits, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** True when a (valid) entry holds every IPv4 or every IPv6 address (a subnet holds both ends of its range). */
function coversEveryone(entry: string): boolean {
  const [address, bits] = entry.split('/');
  if (bits === undefined) return false;
  const list = new BlockList();
  list.addSubnet(address!, Number(bits), isIP(address!) === 6 ? 'ipv6' : 'ipv4');
  const allIpv4 = list.check('0.0.0.0', 'ipv4') && list.check('255.255.255.255', 'ipv4');
  const allIpv6 = list.check('::', 'ipv6') && list.check('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ipv6');
  return allIpv4 || allIpv6;
}

const ssoUserEntry = z.strictObject({
  name: apiKeyEntry.shape.name,
  roles: z.array(z.enum(ROLES)).min(1),
});

const ssoUsers = z.string().transform((raw, ctx) => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a JSON object of identity → {name, roles}' });
    return z.NEVER;
  }
  const result = z.record(z.string().min(1).max(320), ssoUserEntry).safeParse(parsed);
  if (!result.success) {
    ctx.addIssue({
      code: 'custom',
      message: result.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; '),
    });
    return z.NEVER;
  }
  const users = new Map<string, ConsoleSsoUser>();
  for (const [identity, user] of Object.entries(result.data)) {
    if (RESERVED_CALLER_NAMES.has(user.name.toLowerCase())) {
      ctx.addIssue({ code: 'custom', message: `name ${user.name} is reserved for the service itself` });
      return z.NEVER;
    }
    users.set(identity.toLowerCase(), { name: user.name, roles: [...new Set(user.roles)] });
  }
  return users;
});

const schema = z.object({
  PORT: int(3000, 0, 65535),
  DATABASE_URL: required.pipe(url('a postgresql:// URL')),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  MIGRATE_ON_START: bool(true),
  BODY_LIMIT_BYTES: int(64 * 1024, 1024, 10 * 1024 * 1024),
  APPROVALS_REQUIRED: int(0, 0, 5),
  APPROVAL_TTL_HOURS: int(168, 1, 24 * 365),
  DIALNEXA_BASE_URL: url('an http(s) URL').default('https://api.dialnexa.com'),
  DIALNEXA_API_KEY: required,
  DIALNEXA_CONNECT_TIMEOUT_MS: int(5_000, 100, 120_000),
  DIALNEXA_HEADERS_TIMEOUT_MS: int(30_000, 100, 600_000),
  DIALNEXA_BODY_TIMEOUT_MS: int(30_000, 100, 600_000),
  DIALNEXA_MAX_ATTEMPTS: int(6, 1, 20),
  DIALNEXA_RETRY_BASE_MS: int(250, 1, 60_000),
  DIALNEXA_RETRY_MAX_MS: int(15_000, 1, 600_000),
  DIALNEXA_MAX_RATE_LIMIT_WAIT_MS: int(120_000, 0, 3_600_000),
  DIALNEXA_RATE_BUDGET: z.enum(['shared', 'process']).default('shared'),
  DIALNEXA_PAGE_CONCURRENCY: int(4, 1, 16),
  S3_BUCKET: required,
  S3_ENDPOINT: url('an http(s) URL').optional(),
  S3_PUBLIC_ENDPOINT: url('an http(s) URL').optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_FORCE_PATH_STYLE: bool(false),
  AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  ARCHIVE_PREFIX: z
    .string()
    .regex(/^([A-Za-z0-9_.-]+\/)*$/, 'must be empty or path segments ending in /')
    .default('teardowns/'),
  ARCHIVE_LOCK_MODE: z.enum(['COMPLIANCE', 'GOVERNANCE', 'NONE']).default('NONE'),
  ARCHIVE_RETENTION_DAYS: int(2555, 1, 36500),
  ARCHIVE_PART_SIZE_MB: int(8, 5, 512),
  // 64: four exports (RUNNER_CONCURRENCY's default) each sending one 8 MiB part while filling the next
  ARCHIVE_UPLOAD_BUFFER_MB: int(64, 5, 16_384),
  API_KEYS: apiKeys,
  DELETE_SETTLE_TIMEOUT_S: int(600, 1, 86_400),
  DELETE_BACKOFF_BASE_MS: int(1_000, 1, 60_000),
  DELETE_BACKOFF_MAX_MS: int(30_000, 1, 600_000),
  RUNNER_ENABLED: bool(true),
  RUNNER_CONCURRENCY: int(4, 1, 64),
  RUNNER_LEASE_SECONDS: int(30, 2, 3600),
  RUNNER_MAX_CLAIMS_WITHOUT_PROGRESS: int(5, 1, 1000),
  RUNNER_SWEEP_INTERVAL_S: int(15, 1, 3600),
  RUNNER_STEP_ATTEMPTS: int(3, 1, 20),
  RUNNER_STEP_BACKOFF_MS: int(2_000, 0, 600_000),
  API_RATE_LIMIT_PER_MINUTE: int(600, 1, 1_000_000),
  // 0 stands for "unset": the burst then defaults to ten seconds' worth of the rate
  API_RATE_LIMIT_BURST: int(0, 1, 1_000_000),
  // every event is anchored within a minute of its commit: verify fails on a lag of 5 minutes
  AUDIT_ANCHOR_INTERVAL_S: int(30, 1, 60),
  AUDIT_ANCHOR_PREFIX: z
    .string()
    .regex(/^([A-Za-z0-9_.-]+\/)+$/, 'must be path segments ending in /')
    .optional(),
  RECEIPT_SIGNING_KEY: ed25519PrivateKey.optional(),
  RECEIPT_PREVIOUS_PUBLIC_KEYS: ed25519PublicKeys.optional(),
  CONSOLE_SESSION_TTL_MINUTES: int(480, 5, 7 * 24 * 60),
  CONSOLE_SSO_HEADER: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,100}$/, 'must be an HTTP header name')
    .transform((v) => v.toLowerCase())
    .optional(),
  CONSOLE_TRUSTED_PROXIES: trustedProxies.optional(),
  CONSOLE_SSO_USERS: ssoUsers.optional(),
});

/** Every environment variable the service reads, with its validation: the README's table is made from it. */
export const ENV_SCHEMA = schema;

export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  // an empty variable is treated as unset, as shells and compose files often leave them
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `${issue.path.join('.') || 'environment'} ${issue.message}`,
    );
    throw new ConfigError(problems);
  }
  const e = result.data;
  const problems: string[] = [];
  if ((e.AWS_ACCESS_KEY_ID === undefined) !== (e.AWS_SECRET_ACCESS_KEY === undefined)) {
    problems.push('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together');
  }
  if (e.ARCHIVE_UPLOAD_BUFFER_MB < e.ARCHIVE_PART_SIZE_MB) {
    problems.push('ARCHIVE_UPLOAD_BUFFER_MB must hold at least one part of ARCHIVE_PART_SIZE_MB');
  }
  if (e.CONSOLE_SSO_HEADER !== undefined && (e.CONSOLE_TRUSTED_PROXIES ?? []).length === 0) {
    problems.push('CONSOLE_SSO_HEADER needs CONSOLE_TRUSTED_PROXIES: the header is believed only from them');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    logLevel: e.LOG_LEVEL,
    migrateOnStart: e.MIGRATE_ON_START,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    approvalsRequired: e.APPROVALS_REQUIRED,
    approvalTtlHours: e.APPROVAL_TTL_HOURS,
    dialnexa: {
      baseUrl: e.DIALNEXA_BASE_URL.replace(/\/+$/, ''),
      apiKey: e.DIALNEXA_API_KEY,
      connectTimeoutMs: e.DIALNEXA_CONNECT_TIMEOUT_MS,
      headersTimeoutMs: e.DIALNEXA_HEADERS_TIMEOUT_MS,
      bodyTimeoutMs: e.DIALNEXA_BODY_TIMEOUT_MS,
      maxAttempts: e.DIALNEXA_MAX_ATTEMPTS,
      retryBaseMs: e.DIALNEXA_RETRY_BASE_MS,
      retryMaxMs: e.DIALNEXA_RETRY_MAX_MS,
      maxRateLimitWaitMs: e.DIALNEXA_MAX_RATE_LIMIT_WAIT_MS,
      rateBudget: e.DIALNEXA_RATE_BUDGET,
      pageConcurrency: e.DIALNEXA_PAGE_CONCURRENCY,
    },
    s3: {
      bucket: e.S3_BUCKET,
      endpoint: e.S3_ENDPOINT,
      publicEndpoint: e.S3_PUBLIC_ENDPOINT,
      region: e.S3_REGION,
      forcePathStyle: e.S3_FORCE_PATH_STYLE,
      accessKeyId: e.AWS_ACCESS_KEY_ID,
      secretAccessKey: e.AWS_SECRET_ACCESS_KEY,
    },
    archive: {
      prefix: e.ARCHIVE_PREFIX,
      lockMode: e.ARCHIVE_LOCK_MODE,
      retentionDays: e.ARCHIVE_RETENTION_DAYS,
      partSizeBytes: e.ARCHIVE_PART_SIZE_MB * 1024 * 1024,
      uploadBufferBytes: e.ARCHIVE_UPLOAD_BUFFER_MB * 1024 * 1024,
    },
    runner: {
      enabled: e.RUNNER_ENABLED,
      concurrency: e.RUNNER_CONCURRENCY,
      leaseSeconds: e.RUNNER_LEASE_SECONDS,
      maxClaimsWithoutProgress: e.RUNNER_MAX_CLAIMS_WITHOUT_PROGRESS,
      deleteSettleTimeoutS: e.DELETE_SETTLE_TIMEOUT_S,
      deleteBackoffBaseMs: e.DELETE_BACKOFF_BASE_MS,
      deleteBackoffMaxMs: e.DELETE_BACKOFF_MAX_MS,
      sweepIntervalS: e.RUNNER_SWEEP_INTERVAL_S,
      stepAttempts: e.RUNNER_STEP_ATTEMPTS,
      stepBackoffMs: e.RUNNER_STEP_BACKOFF_MS,
    },
    apiKeys: e.API_KEYS,
    apiRateLimit: {
      perMinute: e.API_RATE_LIMIT_PER_MINUTE,
      burst: e.API_RATE_LIMIT_BURST || Math.max(1, Math.ceil(e.API_RATE_LIMIT_PER_MINUTE / 6)),
    },
    auditAnchors: {
      intervalS: e.AUDIT_ANCHOR_INTERVAL_S,
      // Under the archive prefix by default, so that deployments (or test runs) sharing a bucket
      // with different ARCHIVE_PREFIXes keep separate anchor series: anchors of another chain
      // would otherwise read as tampering.
      prefix: e.AUDIT_ANCHOR_PREFIX ?? `audit-anchors/${e.ARCHIVE_PREFIX}`,
    },
    receipts: {
      signingKey: e.RECEIPT_SIGNING_KEY ?? null,
      previousPublicKeys: e.RECEIPT_PREVIOUS_PUBLIC_KEYS ?? [],
    },
    console: {
      sessionTtlMinutes: e.CONSOLE_SESSION_TTL_MINUTES,
      ssoHeader: e.CONSOLE_SSO_HEADER ?? null,
      trustedProxies: e.CONSOLE_TRUSTED_PROXIES ?? [],
      ssoUsers: e.CONSOLE_SSO_USERS ?? new Map<string, ConsoleSsoUser>(),
    },
  };
}
