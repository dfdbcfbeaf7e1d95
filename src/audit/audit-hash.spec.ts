import { describe, expect, it } from '@jest/globals';
import type { AuditEvent } from './audit-event.js';
import { auditHash, GENESIS_HASH } from './audit-hash.js';

type Unhashed = Omit<AuditEvent, 'hash' | 'prevHash'>;

function build(overrides: Partial<Unhashed> = {}): Unhashed {
  return {
    id: 'aud_01JDXKQ5V3M4N8P9R2S6T7W0YZ',
    seq: 1,
    at: '2026-11-30T09:15:27.481Z',
    actor: 'billing-team',
    teardownId: 'td_01JDXKQ5TZ3A4B5C6D7E8F9G0H',
    workflowId: 'wfl_m3v7zb9rk2px',
    type: 'teardown.requested',
    details: { reason: 'GDPR erasure, ticket PRIV-1042', ticket: 'PRIV-1042', dryRun: false },
    ...overrides,
  };
}

/**
 * Hashes computed by the hand-written canonical JSON that chains were built with before the
 * RFC 8785 library replaced it. Stored chains are verified by recomputing these hashes, so any
 * change here breaks every existing chain: a failure means the canonical form changed.
 */
const KNOWN: { name: string; prevHash: string; event: Unhashed; hash: string }[] = [
  {
    name: 'teardown.requested, the first event',
    prevHash: GENESIS_HASH,
    event: build(),
    hash: 'c15f3127719af2b08c30af6fccc776d1a3cd72cc54a0ba690aa75d31ed23153e',
  },
  {
    name: 'archive.exported with its manifest, versions and counts',
    prevHash: 'a'.repeat(64),
    event: build({
      seq: 2,
      id: 'aud_01JDXKQ6A1B2C3D4E5F6G7H8J9',
      at: '2026-11-30T09:15:31.002Z',
      actor: 'system',
      type: 'archive.exported',
      details: {
        manifestKey: 'teardowns/wfl_m3v7zb9rk2px/td_01JDXKQ5TZ3A4B5C6D7E8F9G0H/manifest.json',
        manifestSha256: 'b'.repeat(64),
        versionIds: { 'manifest.json': 'v-3', 'leads.ndjson.gz': null, 'workflow.json': 'v-1' },
        counts: { nodes: 5, edges: 6, leads: 420 },
        dryRun: false,
      },
    }),
    hash: 'd724a52db73d1d34cf78d0d41230f412da00be9c1ae2ea297dd8220326c82ba0',
  },
  {
    name: 'an event without teardown or workflow (hold lifted)',
    prevHash: 'c'.repeat(64),
    event: build({ seq: 3, type: 'hold.lifted', teardownId: null, workflowId: null, details: {} }),
    hash: '5dc63234fa376d0e812ddc38e414d3691e3c9b989bccbeb3bb1327c519e08c10',
  },
  {
    name: 'teardown.failed quoting upstream text: emoji, U+2028, RTL, combining marks, controls',
    prevHash: 'd'.repeat(64),
    event: build({
      seq: 4,
      actor: 'system',
      type: 'teardown.failed',
      details: {
        code: 'UPSTREAM_UNAVAILABLE',
        message: 'DialNexa said: 👩‍👩‍👧‍👦 \u2028 שלום e\u0301 \u0007\u001f "quoted" \\ </script>',
        step: 'cancel',
        retryable: true,
      },
    }),
    hash: '1971a42a9416b6ee6ed632609ae6950d32f18d8f848a78c96258fb86f3d24c9a',
  },
  {
    name: 'keys in UTF-16 order, not code-point order: U+FFFF after an astral key',
    prevHash: 'e'.repeat(64),
    event: build({
      seq: 5,
      details: { '\uffff': 1, '😀': 2, é: 3, Z: 4, a: 5, '': 6, __proto__x: 7, constructor: 8 },
    }),
    hash: '3cd6fe9cdf7e113484be26661158910e12e1ef5150c3012cd58c074832969708',
  },
  {
    name: 'numbers in ECMAScript form: -0, exponents, fractions, the largest and smallest doubles',
    prevHash: 'f'.repeat(64),
    event: build({
      seq: 6,
      details: {
        negativeZero: -0,
        big: 1e21,
        justBelow: 999999999999999900000,
        tiny: 5e-324,
        max: Number.MAX_VALUE,
        fraction: 0.1 + 0.2,
        negative: -1.5e-7,
        safe: 9007199254740991,
      },
    }),
    hash: '30416fda3fbd8536664be3e345026e38b432368092099b0e194e8d4e9679ec52',
  },
  {
    name: 'nested arrays and objects, with undefined members dropped',
    prevHash: '0123456789abcdef'.repeat(4),
    event: build({
      seq: 7,
      details: {
        nested: [{ b: [1, [2, [3, { d: null, c: true }]]], a: 'x' }, [], {}],
        dropped: undefined,
        deep: { z: { y: { x: { w: 'v' } } } },
      },
    }),
    hash: 'ba12c042a81f08ff98b3989fa872d4378a4a57ecea34e4fd06be7dbb8c5e04e5',
  },
];

describe(auditHash.name, () => {
  it.each(KNOWN)('keeps the hash of a known event: $name', ({ prevHash, event, hash }) => {
    expect(auditHash(prevHash, event)).toBe(hash);
  });
});
