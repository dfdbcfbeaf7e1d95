import type { ENV_SCHEMA } from './app.config.js';

/**
 * What each environment variable means, for the README's configuration table and .env.example,
 * both generated (`npm run docs:config`) from the schema in app.config.ts and these words. A
 * variable added to the schema does not typecheck until it is described here; the defaults come
 * from the schema itself, so they cannot drift.
 */

export type EnvName = keyof typeof ENV_SCHEMA.shape;

export interface VariableDoc {
  meaning: string;
  /** Shown instead of the schema's default where the default is derived or not the service's. */
  defaultText?: string;
  /** A value for .env.example, for variables without a default. */
  example?: string;
  /** A secret: .env.example shows a placeholder, never a real-looking value. */
  secret?: boolean;
}

export const CONFIG_DOCS: Record<EnvName, VariableDoc> = {
  PORT: { meaning: 'HTTP port' },
  DATABASE_URL: {
    meaning: 'PostgreSQL URL',
    example: 'postgresql://dialnexa_teardown:change-me@127.0.0.1:5432/dialnexa_teardown',
  },
  LOG_LEVEL: { meaning: '`debug`, `info`, `warn` or `error`' },
  MIGRATE_ON_START: {
    meaning:
      'apply pending migrations (under an advisory lock) before listening; `false` when operators run `npm run db:migrate` before a rollout',
  },
  BODY_LIMIT_BYTES: { meaning: 'largest accepted request body (413 above); 1024 to 10 MiB' },
  APPROVALS_REQUIRED: {
    meaning: 'approvals by distinct callers (never the requester) a teardown needs before it runs; 0 to 5',
  },
  APPROVAL_TTL_HOURS: {
    meaning:
      'how long a teardown waits for its approvals; a decision after that answers `409 APPROVAL_EXPIRED` and the teardown is rejected as expired',
  },
  DIALNEXA_BASE_URL: { meaning: 'upstream API root, without `/v1`' },
  DIALNEXA_API_KEY: {
    meaning: 'upstream Bearer key; never logged, never stored',
    example: 'dnx_live_change-me',
    secret: true,
  },
  DIALNEXA_CONNECT_TIMEOUT_MS: { meaning: 'upstream connect timeout' },
  DIALNEXA_HEADERS_TIMEOUT_MS: { meaning: 'upstream timeout for the answer’s headers' },
  DIALNEXA_BODY_TIMEOUT_MS: { meaning: 'upstream timeout between body chunks' },
  DIALNEXA_MAX_ATTEMPTS: { meaning: 'tries of an idempotent GET (5xx, resets, timeouts, 429)' },
  DIALNEXA_RETRY_BASE_MS: { meaning: 'first backoff of the upstream retries (exponential, full jitter)' },
  DIALNEXA_RETRY_MAX_MS: { meaning: 'longest backoff of the upstream retries' },
  DIALNEXA_MAX_RATE_LIMIT_WAIT_MS: {
    meaning: 'longest wait for DialNexa’s rate limit before failing retryably',
  },
  DIALNEXA_RATE_BUDGET: {
    meaning:
      '`shared`: the API key’s rate window is kept in PostgreSQL and every replica takes a token from it before each request; `process`: each process paces itself from the answers it sees',
  },
  DIALNEXA_PAGE_CONCURRENCY: {
    meaning: 'pages of a listing requested ahead of its reader once page 1 gave `meta.totalPages` (1 to 16)',
  },
  S3_BUCKET: {
    meaning: 'archive bucket (the operator’s: never created by the service)',
    example: 'dialnexa-archive',
  },
  S3_ENDPOINT: { meaning: 'S3-compatible endpoint (unset for AWS)' },
  S3_PUBLIC_ENDPOINT: {
    meaning:
      'the endpoint presigned download URLs name, when callers reach the store at another address than the service (a container network); unset: `S3_ENDPOINT`',
  },
  S3_REGION: { meaning: 'region' },
  S3_FORCE_PATH_STYLE: { meaning: '`true` for most S3-compatible stores' },
  AWS_ACCESS_KEY_ID: {
    meaning: 'S3 access key, set together with `AWS_SECRET_ACCESS_KEY`',
    defaultText: "the SDK's default chain",
  },
  AWS_SECRET_ACCESS_KEY: {
    meaning: 'S3 secret key; never logged',
    defaultText: "the SDK's default chain",
    secret: true,
  },
  ARCHIVE_PREFIX: { meaning: 'key prefix inside the bucket' },
  ARCHIVE_LOCK_MODE: {
    meaning: '`COMPLIANCE`, `GOVERNANCE` or `NONE`: Object Lock retention set on every archive object',
  },
  ARCHIVE_RETENTION_DAYS: { meaning: 'Object Lock retention, when a lock mode is set' },
  ARCHIVE_PART_SIZE_MB: { meaning: 'multipart part size of the lead upload' },
  ARCHIVE_UPLOAD_BUFFER_MB: {
    meaning: 'part buffers shared by every upload running at once (4 exports × 2 parts of 8 MiB)',
  },
  API_KEYS: {
    meaning:
      'JSON array of callers: `[{"name":"billing-team","key":"sha256:<hex>" or "<plain, 16+ chars>","roles":["requester"]}]`',
    example: '[{"name":"billing-team","key":"change-me-to-a-long-random-key","roles":["requester"]}]',
    secret: true,
  },
  DELETE_SETTLE_TIMEOUT_S: {
    meaning: 'how long to wait for leads in transit to settle after the cancel before failing retryably',
  },
  DELETE_BACKOFF_BASE_MS: { meaning: 'first backoff between DELETEs answered 409' },
  DELETE_BACKOFF_MAX_MS: { meaning: 'longest backoff between DELETEs answered 409' },
  RUNNER_ENABLED: { meaning: '`false` for a replica that serves the API only' },
  RUNNER_CONCURRENCY: { meaning: 'teardowns one process runs at once' },
  RUNNER_LEASE_SECONDS: {
    meaning: 'lease of a running teardown; a dead worker’s teardown is resumed after it',
  },
  RUNNER_MAX_CLAIMS_WITHOUT_PROGRESS: {
    meaning:
      'claims in a row that finish no step (the process keeps dying) before the teardown fails with `TEARDOWN_CRASH_LOOP`',
  },
  RUNNER_SWEEP_INTERVAL_S: { meaning: 'how often teardowns without a live worker are re-queued' },
  RUNNER_STEP_ATTEMPTS: {
    meaning: 'tries of a step that failed retryably before the failure is recorded',
  },
  RUNNER_STEP_BACKOFF_MS: { meaning: 'wait between those tries' },
  API_RATE_LIMIT_PER_MINUTE: {
    meaning: 'API requests per caller per minute (per replica; 429 `RATE_LIMITED` above)',
  },
  API_RATE_LIMIT_BURST: {
    meaning: 'API requests a caller may send at once (per replica)',
    defaultText: 'ten seconds of `API_RATE_LIMIT_PER_MINUTE`',
  },
  AUDIT_ANCHOR_INTERVAL_S: {
    meaning:
      'how often the audit chain’s head is anchored in the bucket (1 to 60: every event is anchored within a minute)',
  },
  AUDIT_ANCHOR_PREFIX: {
    meaning: 'anchor key prefix',
    defaultText: '`audit-anchors/` + `ARCHIVE_PREFIX`',
  },
  RECEIPT_SIGNING_KEY: {
    meaning:
      'Ed25519 private key (PKCS#8 PEM; `\\n` escapes accepted on one line) that signs deletion receipts; unset: no receipts, `/receipt` answers `409 RECEIPTS_DISABLED`',
    secret: true,
  },
  RECEIPT_PREVIOUS_PUBLIC_KEYS: {
    meaning:
      'Ed25519 public keys (SPKI PEMs, one after the other) of earlier signing keys, still served in `/.well-known/jwks.json` so receipts they signed keep verifying after a rotation',
  },
  CONSOLE_SESSION_TTL_MINUTES: {
    meaning:
      'how long a web console sign-in lasts (the session cookie’s Max-Age and the server-side expiry); 5 minutes to 7 days',
  },
  CONSOLE_SSO_HEADER: {
    meaning:
      'header in which a trusted SSO proxy names the person (e.g. `X-Forwarded-Email`); believed only from `CONSOLE_TRUSTED_PROXIES`; unset: sign-in with an API key only',
  },
  CONSOLE_TRUSTED_PROXIES: {
    meaning:
      'comma-separated IPs or CIDRs of the reverse proxies in front of the service: their `CONSOLE_SSO_HEADER` and `X-Forwarded-Proto`/`-For` are believed, nobody else’s',
  },
  CONSOLE_SSO_USERS: {
    meaning:
      'JSON object mapping an SSO identity (case-insensitive) to the console caller: `{"ana@example.com": {"name": "ana", "roles": ["approver"]}}`; an identity not listed is refused',
  },
};

export const CONFIG_TABLE_BEGIN = '<!-- config-table:begin (generated by `npm run docs:config`) -->';
export const CONFIG_TABLE_END = '<!-- config-table:end -->';

type Shape = typeof ENV_SCHEMA.shape;

/** A default as the environment would spell it (numbers, booleans, strings; arrays for API keys). */
function spelled(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The schema's default of a variable: its parse of "unset". */
function defaultOf(shape: Shape, name: EnvName): { required: boolean; value: unknown } {
  const parsed = shape[name].safeParse(undefined);
  return parsed.success ? { required: false, value: parsed.data } : { required: true, value: undefined };
}

function defaultText(shape: Shape, name: EnvName): string {
  const doc = CONFIG_DOCS[name];
  if (doc.defaultText !== undefined) return doc.defaultText;
  const { required, value } = defaultOf(shape, name);
  if (required) return 'required';
  if (value === undefined) return 'unset';
  return `\`${spelled(value)}\``;
}

/** The README's table: one row per variable, in the schema's order. */
export function renderConfigTable(shape: Shape): string {
  const rows = (Object.keys(shape) as EnvName[]).map(
    (name) => `| \`${name}\` | ${CONFIG_DOCS[name].meaning} | ${defaultText(shape, name)} |`,
  );
  return ['| variable | meaning | default |', '| --- | --- | --- |', ...rows].join('\n');
}

/** .env.example: every variable, required ones set to an example, the others commented out at their default. */
export function renderEnvExample(shape: Shape): string {
  const lines = [
    '# The service reads its configuration from the environment, and from .env when `npm start` runs',
    '# it. Copy this file to .env and fill in the required values. Generated by `npm run docs:config`',
    "# from the schema (src/config/app.config.ts): don't edit it by hand.",
  ];
  for (const name of Object.keys(shape) as EnvName[]) {
    const doc = CONFIG_DOCS[name];
    const { required, value } = defaultOf(shape, name);
    lines.push('', `# ${doc.meaning.replace(/`/g, '')}`);
    if (required) {
      lines.push(`# required${doc.secret ? ' (a secret: keep .env out of version control)' : ''}`);
      lines.push(`${name}=${quoteEnv(doc.example ?? '')}`);
    } else if (value === undefined || doc.defaultText !== undefined) {
      lines.push(`# default: ${defaultText(shape, name).replace(/`/g, '')}`, `# ${name}=`);
    } else {
      lines.push(`# ${name}=${quoteEnv(spelled(value))}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** A value as `node --env-file` reads it back: single-quoted when it holds anything but plain characters. */
function quoteEnv(value: string): string {
  return /^[A-Za-z0-9_./:@-]*$/.test(value) ? value : `'${value}'`;
}

/** `text` with what stands between the markers replaced by `table`. */
export function replaceConfigTable(text: string, table: string): string {
  const begin = text.indexOf(CONFIG_TABLE_BEGIN);
  const end = text.indexOf(CONFIG_TABLE_END);
  if (begin < 0 || end < begin) throw new Error('README.md lacks the config-table markers');
  return `${text.slice(0, begin + CONFIG_TABLE_BEGIN.length)}\n\n${table}\n\n${text.slice(end)}`;
}

/** The table between the markers, rows reduced to their trimmed cells (prettier pads them). */
export function tableCells(text: string): string[][] {
  const begin = text.indexOf(CONFIG_TABLE_BEGIN);
  const end = text.indexOf(CONFIG_TABLE_END);
  if (begin < 0 || end < begin) throw new Error('README.md lacks the config-table markers');
  return text
    .slice(begin + CONFIG_TABLE_BEGIN.length, end)
    .split('\n')
    .filter((line) => line.trim().startsWith('|'))
    .map((line) =>
      line
        .trim()
        .replace(/^\||\|$/g, '')
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    )
    .filter((cells) => !cells.every((cell) => /^:?-+:?$/.test(cell)));
}
