import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApprovalService } from '../approvals/approval.service.js';
import { Roles } from '../auth/api-key.guard.js';
import type { Caller } from '../auth/caller.js';
import { CurrentCaller } from '../auth/current-caller.decorator.js';
import { teardownIdSchema } from '../common/ids.dto.js';
import { PathIdPipe } from '../common/path-id.pipe.js';
import { validated, ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { archiveDescriptionSchema } from '../archive/archive.dto.js';
import { auditTrailSchema } from '../audit/audit.dto.js';
import { ApiRoute, jsonSchemaOf } from '../openapi/api-docs.decorators.js';
import {
  createTeardownSchema,
  type CreateTeardownDto,
  idempotencyKeySchema,
  listTeardownsSchema,
  type ListTeardownsDto,
} from './teardown.dto.js';
import { presentTeardown, teardownPageSchema, teardownResourceSchema } from './teardown.presenter.js';
import type { Teardown } from './teardown.js';
import { TeardownService } from './teardown.service.js';

const idPipe = new PathIdPipe(teardownIdSchema, 'TEARDOWN_NOT_FOUND', 'teardown');
const idempotencyPipe = new ZodValidationPipe(idempotencyKeySchema.optional(), 'Idempotency-Key');

const TEARDOWN_ID = ApiParam({
  name: 'id',
  description: 'a teardown id (`td_…`)',
  schema: { type: 'string' },
});

@Controller('v1/teardowns')
@ApiTags('teardowns')
@ApiBearerAuth('apiKey')
export class TeardownController {
  constructor(
    private readonly teardowns: TeardownService,
    private readonly approvals: ApprovalService,
  ) {}

  @Post()
  @Roles('requester')
  @ApiRoute({
    summary: 'Request a teardown of a workflow',
    description:
      'Answers 202 with the new teardown; the same Idempotency-Key with the same body from the same ' +
      'caller answers 200 with the same teardown. Role `requester`.',
    status: 202,
    schema: teardownResourceSchema,
    errors: ['TEARDOWN_IN_PROGRESS', 'WORKFLOW_ON_HOLD', 'IDEMPOTENCY_KEY_REUSED'],
  })
  @ApiResponse({
    status: 200,
    standardSchema: teardownResourceSchema,
    description: 'a replay: the teardown this Idempotency-Key created',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'replays the first answer to the same caller and body',
    schema: jsonSchemaOf(idempotencyKeySchema),
  })
  async create(
    @CurrentCaller() caller: Caller,
    @Body(validated(createTeardownSchema)) body: CreateTeardownDto,
    @Headers('idempotency-key') rawIdempotencyKey: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ) {
    const idempotencyKey = idempotencyPipe.transform(rawIdempotencyKey);
    const { teardown, replayed } = await this.teardowns.create(caller, body, idempotencyKey);
    response.status(replayed ? 200 : 202);
    response.setHeader('Location', `/v1/teardowns/${teardown.id}`);
    return this.present(teardown);
  }

  @Get()
  @Roles('requester', 'approver', 'auditor')
  @ApiRoute({
    summary: 'List teardowns, newest first',
    description: 'A requester sees its own; approvers and auditors see every teardown.',
    status: 200,
    schema: teardownPageSchema,
  })
  async list(
    @CurrentCaller() caller: Caller,
    @Query(validated(listTeardownsSchema)) query: ListTeardownsDto,
  ) {
    const { data, nextCursor } = await this.teardowns.list(caller, query);
    const approvals = await this.approvals.of(data.map((t) => t.id));
    return { data: data.map((t) => presentTeardown(t, approvals.get(t.id))), nextCursor };
  }

  @Get(':id')
  @Roles('requester', 'approver', 'auditor')
  @ApiRoute({
    summary: 'A teardown: status, progress, archive, error',
    status: 200,
    schema: teardownResourceSchema,
    errors: ['TEARDOWN_NOT_FOUND'],
  })
  @TEARDOWN_ID
  async get(@CurrentCaller() caller: Caller, @Param('id', idPipe) id: string) {
    return this.present(await this.teardowns.get(caller, id));
  }

  @Post(':id/abort')
  @HttpCode(200)
  @Roles('requester')
  @ApiRoute({
    summary: 'Abort a teardown (until its cancel has been sent upstream)',
    description: 'Its requester or an admin.',
    status: 200,
    schema: teardownResourceSchema,
    errors: ['TEARDOWN_NOT_FOUND', 'TEARDOWN_NOT_ABORTABLE'],
  })
  @TEARDOWN_ID
  async abort(@CurrentCaller() caller: Caller, @Param('id', idPipe) id: string) {
    return this.present(await this.teardowns.abort(caller, id));
  }

  @Post(':id/retry')
  @HttpCode(202)
  @Roles('requester')
  @ApiRoute({
    summary: 'Retry a teardown that failed retryably, from the step that failed',
    description: 'Its requester or an admin; refused while a legal hold covers the workflow.',
    status: 202,
    schema: teardownResourceSchema,
    errors: ['TEARDOWN_NOT_FOUND', 'TEARDOWN_NOT_RETRYABLE', 'WORKFLOW_ON_HOLD'],
  })
  @TEARDOWN_ID
  async retry(@CurrentCaller() caller: Caller, @Param('id', idPipe) id: string) {
    return this.present(await this.teardowns.retry(caller, id));
  }

  @Get(':id/audit')
  @Roles('requester', 'approver', 'auditor')
  @ApiRoute({
    summary: "A teardown's audit events, oldest first",
    status: 200,
    schema: auditTrailSchema,
    errors: ['TEARDOWN_NOT_FOUND'],
  })
  @TEARDOWN_ID
  async audit(@CurrentCaller() caller: Caller, @Param('id', idPipe) id: string) {
    return { data: await this.teardowns.auditTrail(caller, id) };
  }

  @Get(':id/archive')
  @Roles('auditor')
  @ApiRoute({
    summary: "A teardown's archive: the manifest and a short-lived presigned download URL per object",
    description:
      'Role `auditor`. The export and, once taken, the snapshot after the cancel (`final`). ' +
      'TEARDOWN_NOT_FOUND also when the teardown has no archive yet.',
    status: 200,
    schema: archiveDescriptionSchema,
    errors: ['TEARDOWN_NOT_FOUND', 'ARCHIVE_STORE_UNAVAILABLE'],
  })
  @TEARDOWN_ID
  async archive(@CurrentCaller() caller: Caller, @Param('id', idPipe) id: string) {
    return this.teardowns.archiveOf(caller, id);
  }

  private async present(teardown: Teardown) {
    const approvals = await this.approvals.of([teardown.id]);
    return presentTeardown(teardown, approvals.get(teardown.id));
  }
}
