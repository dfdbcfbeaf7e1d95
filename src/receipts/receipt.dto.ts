import { z } from 'zod';

const manifestSchema = z.object({
  bucket: z.string(),
  manifestKey: z.string(),
  manifestSha256: z.string(),
  manifestVersionId: z.string().nullable(),
  counts: z.object({ nodes: z.number(), edges: z.number(), leads: z.number() }),
});

/** The signed receipt as served (and stored as `receipt.json`): see README "Deletion receipts". */
export const signedReceiptSchema = z
  .object({
    receipt: z.object({
      formatVersion: z.literal(1),
      kind: z.literal('dialnexa-teardown.deletion-receipt'),
      teardownId: z.string(),
      workflowId: z.string(),
      requestedBy: z.string(),
      requestedAt: z.string(),
      reason: z.string(),
      ticket: z.string().nullable(),
      approvals: z.array(z.object({ by: z.string(), at: z.string(), comment: z.string().nullable() })),
      exportedAt: z.string(),
      cancelledAt: z.string(),
      finalizedAt: z.string().nullable(),
      deletedAt: z.string(),
      deleteConfirmation: z.string().nullable(),
      archive: manifestSchema,
      final: manifestSchema.nullable(),
      events: z.array(
        z.object({
          seq: z.number(),
          id: z.string(),
          at: z.string(),
          actor: z.string(),
          type: z.string(),
          hash: z.string(),
        }),
      ),
      chain: z.object({ headSeq: z.number(), headHash: z.string(), anchorKey: z.string() }),
    }),
    signature: z.object({
      alg: z.literal('EdDSA'),
      kid: z.string().describe('RFC 7638 thumbprint of the signing key, a `kid` of /.well-known/jwks.json'),
      value: z.string().describe('base64url Ed25519 signature of the RFC 8785 canonical bytes of `receipt`'),
    }),
  })
  .describe('the bytes are the RFC 8785 canonical JSON of this object');

export const jwksSchema = z.object({
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

const evidenceObjectSchema = z.object({
  key: z.string(),
  versionId: z.string().nullable(),
  exists: z.boolean(),
  url: z
    .string()
    .nullable()
    .describe('presigned GET of that version, short-lived; null when it does not exist'),
  lock: z.object({ mode: z.string(), retainUntil: z.string() }).nullable(),
});

/** `GET /v1/teardowns/{id}/receipt/evidence`: what `receipt verify --online` reads independently. */
export const receiptEvidenceSchema = z.object({
  expiresAt: z.string().describe('when the URLs stop working'),
  receipt: evidenceObjectSchema,
  manifests: z.array(evidenceObjectSchema.extend({ snapshot: z.enum(['export', 'final']) })),
  anchor: evidenceObjectSchema,
});
