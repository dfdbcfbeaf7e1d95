import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type JwkSet, verifyReceipt } from '../receipts/receipt-signature.js';
import { CliError } from './cli.error.js';
import { printable } from './output.js';

/**
 * Checking a deletion receipt (README, "Deletion receipts"). Offline: the bytes are the canonical
 * JSON of the envelope and its Ed25519 signature matches a key of the JWK set. Online, besides:
 * each manifest the receipt names is in the bucket with the SHA-256 it states, the anchor it names
 * is in the bucket and locks the head it states, every event it lists is in the audit chain with
 * the same hash, the chain verifies, and the bucket's receipt.json is these very bytes.
 */

const jwksSchema = z.object({
  keys: z.array(
    z.object({
      kty: z.literal('OKP'),
      crv: z.literal('Ed25519'),
      x: z.string(),
      kid: z.string(),
      alg: z.literal('EdDSA'),
      use: z.literal('sig'),
    }),
  ),
});

const manifestRefSchema = z.object({
  manifestKey: z.string(),
  manifestSha256: z.string(),
  manifestVersionId: z.string().nullable(),
});

const receiptSchema = z.object({
  teardownId: z.string(),
  workflowId: z.string(),
  archive: manifestRefSchema,
  final: manifestRefSchema.nullable(),
  events: z.array(z.object({ seq: z.number(), id: z.string(), type: z.string(), hash: z.string() })),
  chain: z.object({ headSeq: z.number(), headHash: z.string(), anchorKey: z.string() }),
});
export type CheckedReceipt = z.output<typeof receiptSchema>;

const anchorDocumentSchema = z.object({ seq: z.number(), hash: z.string() });

/** A JWK set from a file or the service; a CliError when it is not one. */
export function parseJwks(text: string, from: string): JwkSet {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError('JWKS_INVALID', `${from} is not JSON`);
  }
  const result = jwksSchema.safeParse(json);
  if (!result.success) throw new CliError('JWKS_INVALID', `${from} is not an Ed25519 JWK set`);
  return result.data;
}

export interface OnlineCheck {
  /** One line per thing compared, `ok` or what differs. */
  checks: { what: string; ok: boolean; detail: string }[];
}

export interface ReceiptCheckReport {
  ok: boolean;
  file: string;
  teardownId: string | null;
  kid: string | null;
  signature: { ok: boolean; reason: string | null };
  online: OnlineCheck | null;
}

/** The offline part: canonical bytes, a known key, a matching signature, the receipt's shape. */
export function checkReceiptOffline(
  bytes: Buffer,
  jwks: JwkSet,
  file: string,
): { report: ReceiptCheckReport; receipt: CheckedReceipt | null } {
  const check = verifyReceipt(bytes, jwks);
  if (!check.ok) {
    return {
      report: {
        ok: false,
        file,
        teardownId: null,
        kid: check.kid ?? null,
        signature: { ok: false, reason: check.reason },
        online: null,
      },
      receipt: null,
    };
  }
  const parsed = receiptSchema.safeParse(check.receipt);
  const reason = parsed.success ? null : 'signed, but not a deletion receipt of this format';
  return {
    report: {
      ok: parsed.success,
      file,
      teardownId: parsed.success ? parsed.data.teardownId : null,
      kid: check.kid,
      signature: { ok: parsed.success, reason },
      online: null,
    },
    receipt: parsed.success ? parsed.data : null,
  };
}

/** What the online check reads through the service's API (and the store, via presigned URLs). */
export interface ReceiptSources {
  evidence(teardownId: string): Promise<{
    receipt: { exists: boolean; url: string | null };
    manifests: {
      snapshot: 'export' | 'final';
      key: string;
      versionId: string | null;
      exists: boolean;
      url: string | null;
      lock: { mode: string; retainUntil: string } | null;
    }[];
    anchor: {
      key: string;
      exists: boolean;
      url: string | null;
      lock: { mode: string; retainUntil: string } | null;
    };
  }>;
  /** Every audit event of the teardown (all pages). */
  events(teardownId: string): Promise<{ seq: number; id: string; type: string; hash: string }[]>;
  chainVerifies(): Promise<{ ok: boolean; detail: string }>;
  download(url: string): Promise<Buffer>;
}

export async function checkReceiptOnline(
  bytes: Buffer,
  receipt: CheckedReceipt,
  sources: ReceiptSources,
): Promise<OnlineCheck> {
  const checks: OnlineCheck['checks'] = [];
  const add = (what: string, ok: boolean, detail: string) => checks.push({ what, ok, detail });
  const evidence = await sources.evidence(receipt.teardownId);

  const manifests = [
    { snapshot: 'export' as const, ref: receipt.archive },
    ...(receipt.final ? [{ snapshot: 'final' as const, ref: receipt.final }] : []),
  ];
  for (const { snapshot, ref } of manifests) {
    const what = `${snapshot} manifest ${ref.manifestKey}`;
    const stored = evidence.manifests.find((m) => m.snapshot === snapshot);
    if (!stored?.exists || !stored.url || stored.key !== ref.manifestKey) {
      add(what, false, 'not in the bucket');
      continue;
    }
    if (ref.manifestVersionId !== null && stored.versionId !== ref.manifestVersionId) {
      add(
        what,
        false,
        `the bucket holds version ${String(stored.versionId)}, the receipt names ${ref.manifestVersionId}`,
      );
      continue;
    }
    const sha256 = sha256Of(await sources.download(stored.url));
    add(
      what,
      sha256 === ref.manifestSha256,
      sha256 === ref.manifestSha256
        ? `sha256 matches${lockText(stored.lock)}`
        : `sha256 ${sha256} in the bucket, ${ref.manifestSha256} in the receipt`,
    );
  }

  const anchorWhat = `anchor ${receipt.chain.anchorKey}`;
  if (!evidence.anchor.exists || !evidence.anchor.url || evidence.anchor.key !== receipt.chain.anchorKey) {
    add(anchorWhat, false, 'not in the bucket');
  } else {
    const parsed = anchorDocumentSchema.safeParse(parseJson(await sources.download(evidence.anchor.url)));
    const ok =
      parsed.success &&
      parsed.data.seq === receipt.chain.headSeq &&
      parsed.data.hash === receipt.chain.headHash;
    add(
      anchorWhat,
      ok,
      ok
        ? `locks the chain head at seq ${receipt.chain.headSeq}${lockText(evidence.anchor.lock)}`
        : 'does not hold the head the receipt names',
    );
  }
  const deleted = receipt.events.find((e) => e.type === 'workflow.deleted');
  add(
    'anchor covers workflow.deleted',
    deleted !== undefined && receipt.chain.headSeq >= deleted.seq,
    deleted
      ? `event #${deleted.seq}, anchored head #${receipt.chain.headSeq}`
      : 'the receipt lists no workflow.deleted',
  );

  const chain = new Map((await sources.events(receipt.teardownId)).map((e) => [e.seq, e]));
  const missing = receipt.events.filter((e) => {
    const found = chain.get(e.seq);
    return !found || found.hash !== e.hash || found.id !== e.id || found.type !== e.type;
  });
  add(
    `${receipt.events.length} events in the audit chain`,
    missing.length === 0,
    missing.length === 0
      ? 'each with the same hash'
      : `not in the chain as listed: ${missing.map((e) => `#${e.seq} ${e.type}`).join(', ')}`,
  );
  const verified = await sources.chainVerifies();
  add('audit chain verifies against its anchors', verified.ok, verified.detail);

  if (!evidence.receipt.exists || !evidence.receipt.url) {
    add('receipt.json in the bucket', false, 'not in the bucket');
  } else {
    const same = (await sources.download(evidence.receipt.url)).equals(bytes);
    add('receipt.json in the bucket', same, same ? 'the same bytes' : 'differs from this file');
  }
  return { checks };
}

function lockText(lock: { mode: string; retainUntil: string } | null): string {
  return lock ? `, locked (${lock.mode}) until ${lock.retainUntil}` : ', no Object Lock';
}

function sha256Of(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return null; // not JSON: the schema check reports it as not holding the head
  }
}

export function receiptCheckText(report: ReceiptCheckReport): string {
  const lines = [
    report.signature.ok
      ? `signature  ok: key ${report.kid ?? '-'} signed the canonical bytes`
      : `signature  FAILED: ${printable(report.signature.reason ?? '')}`,
  ];
  for (const check of report.online?.checks ?? []) {
    lines.push(`${check.ok ? 'ok  ' : 'BAD '} ${printable(check.what)}: ${printable(check.detail)}`);
  }
  lines.push(
    report.ok
      ? `receipt of ${report.teardownId ?? '?'} verified${report.online ? ' (offline and online)' : ' (offline)'}: ${report.file}`
      : `receipt FAILED verification: ${report.file}`,
  );
  return lines.join('\n');
}
