import { describe, expect, it } from '@jest/globals';
import type { ApprovalService } from '../approvals/approval.service.js';
import type { DialnexaClient } from '../dialnexa/dialnexa.client.js';
import type { ReceiptService } from '../receipts/receipt.service.js';
import type { Teardown } from '../teardown/teardown.js';
import type { TeardownService } from '../teardown/teardown.service.js';
import { TeardownPageService } from './teardown-page.service.js';

function build(stored: Buffer): TeardownPageService {
  const receipts = {
    enabled: true,
    receiptOf: () => Promise.resolve(stored),
    jwks: () => ({ keys: [] }),
  } as unknown as ReceiptService;
  return new TeardownPageService(
    {} as TeardownService,
    {} as ApprovalService,
    receipts,
    {} as DialnexaClient,
  );
}

const completed = {
  id: 'td_01JB6Z3K4V9Q2W8E5R7T1Y3X6M',
  status: 'completed',
  dryRun: false,
  requestedBy: 'team-a',
  archive: null,
} as unknown as Teardown;
const auditor = { name: 'compliance-audit', roles: ['auditor' as const] };

describe(TeardownPageService.name, () => {
  it('shows a stored receipt that is not JSON, or JSON of another shape, as failing verification, never a 5xx', async () => {
    for (const bytes of ['not json at all', 'null', '[]', '{"receipt": null}', '"x"', '']) {
      const sut = build(Buffer.from(bytes));
      const view = await sut.receipt(auditor, completed, []);
      expect(view).toMatchObject({ available: true, ok: false, deletedAt: null });
    }
  });
});
