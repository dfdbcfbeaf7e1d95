import { describe, expect, it } from '@jest/globals';
import { buildArchiveRef, buildTeardown } from './testing/teardown.factories.js';
import { presentTeardown, teardownPageSchema, teardownResourceSchema } from './teardown.presenter.js';

// the form newTeardownId issues (the factories' default id is not one)
const ISSUED_ID = 'td_01JB6Z3K4V9Q2W8E5R7T1Y3X6M';

/**
 * The OpenAPI document describes the teardown resource by `teardownResourceSchema`; these keep
 * the presenter and the schema in step (strict objects: a field added to one only fails here).
 */
describe(presentTeardown.name, () => {
  it('presents a fresh teardown as the schema describes it', () => {
    const sut = presentTeardown(buildTeardown({ id: ISSUED_ID }));

    expect(teardownResourceSchema.parse(sut)).toEqual(sut);
  });

  it('presents one with approvals, both snapshots of its archive and an error as the schema describes it', () => {
    const teardown = buildTeardown({
      id: ISSUED_ID,
      status: 'failed',
      step: 'delete',
      leadsExported: 420,
      leadsTotal: 420,
      archive: { ...buildArchiveRef(), final: buildArchiveRef({}, 'final') },
      error: {
        code: 'DELETE_SETTLE_TIMEOUT',
        message: 'leads still in transit',
        step: 'delete',
        retryable: true,
      },
      completedAt: new Date('2024-05-01T10:00:00.000Z'),
    });
    const approvals = [
      { approver: 'ops-lead', decision: 'approved' as const, comment: null, decidedAt: new Date() },
    ];

    const sut = presentTeardown(teardown, approvals);

    expect(teardownResourceSchema.parse(sut)).toEqual(sut);
    expect(teardownPageSchema.parse({ data: [sut], nextCursor: null }).data).toHaveLength(1);
  });

  it('is refused by the schema when a field is added that the document does not describe', () => {
    const sut = { ...presentTeardown(buildTeardown({ id: ISSUED_ID })), undocumented: true };

    expect(teardownResourceSchema.safeParse(sut).success).toBe(false);
  });
});
