import { Controller, Get, Param, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiParam, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/api-key.guard.js';
import { type Caller, hasRole } from '../auth/caller.js';
import { CurrentCaller } from '../auth/current-caller.decorator.js';
import { DomainError } from '../common/domain-error.js';
import { teardownIdSchema } from '../common/ids.dto.js';
import { PathIdPipe } from '../common/path-id.pipe.js';
import { ApiRoute } from '../openapi/api-docs.decorators.js';
import { receiptEvidenceSchema, signedReceiptSchema } from '../receipts/receipt.dto.js';
import { ReceiptService } from '../receipts/receipt.service.js';
import { TeardownService } from './teardown.service.js';

const idPipe = new PathIdPipe(teardownIdSchema, 'TEARDOWN_NOT_FOUND', 'teardown');

@Controller('v1/teardowns')
@ApiTags('teardowns')
@ApiBearerAuth('apiKey')
export class TeardownReceiptController {
  constructor(
    private readonly teardowns: TeardownService,
    private readonly receipts: ReceiptService,
  ) {}

  @Get(':id/receipt')
  @Roles('requester', 'auditor')
  @ApiRoute({
    summary: "A completed teardown's signed deletion receipt",
    description:
      "Roles `auditor`, `admin` and the teardown's requester (to anyone else the teardown is " +
      'TEARDOWN_NOT_FOUND). The body is the stored `receipt.json`, byte for byte: RFC 8785 ' +
      'canonical JSON, signed with Ed25519 by a key of /.well-known/jwks.json. RECEIPT_NOT_FOUND ' +
      'for a teardown that is not (yet) a completed deletion, RECEIPTS_DISABLED without a signing key.',
    status: 200,
    schema: signedReceiptSchema,
    errors: ['TEARDOWN_NOT_FOUND', 'RECEIPT_NOT_FOUND', 'RECEIPTS_DISABLED', 'ARCHIVE_STORE_UNAVAILABLE'],
  })
  @ApiParam({ name: 'id', description: 'a teardown id (`td_…`)', schema: { type: 'string' } })
  async receipt(@CurrentCaller() caller: Caller, @Param('id', idPipe) id: string): Promise<StreamableFile> {
    const bytes = await this.receipts.receiptOf(await this.receiptSubject(caller, id));
    return new StreamableFile(bytes, { type: 'application/json', length: bytes.length });
  }

  @Get(':id/receipt/evidence')
  @Roles('auditor')
  @ApiRoute({
    summary: 'What a receipt names, as the bucket holds it: manifests, anchor, the receipt itself',
    description:
      'Role `auditor`. Each object with its version, whether it exists, its Object Lock and a ' +
      'short-lived presigned URL, so that `receipt verify --online` reads them from the store itself.',
    status: 200,
    schema: receiptEvidenceSchema,
    errors: ['TEARDOWN_NOT_FOUND', 'RECEIPT_NOT_FOUND', 'RECEIPTS_DISABLED', 'ARCHIVE_STORE_UNAVAILABLE'],
  })
  @ApiParam({ name: 'id', description: 'a teardown id (`td_…`)', schema: { type: 'string' } })
  async evidence(@CurrentCaller() caller: Caller, @Param('id', idPipe) id: string) {
    return this.receipts.evidenceOf(await this.receiptSubject(caller, id));
  }

  /** The teardown, if this caller may see its receipt: its requester, auditors and admins. */
  private async receiptSubject(caller: Caller, id: string) {
    const teardown = await this.teardowns.get(caller, id);
    // approvers see every teardown, but not its receipt: to them it is as missing as to others
    if (!hasRole(caller, 'auditor') && teardown.requestedBy !== caller.name) {
      throw new DomainError('TEARDOWN_NOT_FOUND', `teardown ${id} does not exist`);
    }
    return teardown;
  }
}
