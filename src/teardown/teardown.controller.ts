import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ApprovalService } from '../approvals/approval.service.js';
import { Roles } from '../auth/api-key.guard.js';
import type { Caller } from '../auth/caller.js';
import { CurrentCaller } from '../auth/current-caller.decorator.js';
import { teardownIdSchema } from '../common/ids.dto.js';
import { PathIdPipe } from '../common/path-id.pipe.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import {
  createTeardownSchema,
  type CreateTeardownDto,
  idempotencyKeySchema,
  listTeardownsSchema,
  type ListTeardownsDto,
} from './teardown.dto.js';
import { presentTeardown } from './teardown.presenter.js';
import type { Teardown } from './teardown.js';
import { TeardownService } from './teardown.service.js';

const idPipe = new PathIdPipe(teardownIdSchema, 'TEARDOWN_NOT_FOUND', 'teardown');
const idempotencyPipe = new ZodValidationPipe(idempotencyKeySchema.optional(), 'Idempotency-Key');

@Controller('v1/teardowns')
export class TeardownController {
  constructor(
    private readonly teardowns: TeardownService,
    private readonly approvals: ApprovalService,
  ) {}

  @Post()
  @Roles('requester')
  async create(
    @CurrentCaller() caller: Caller,
    @Body(new ZodValidationPipe(createTeardownSchema)) body: CreateTeardownDto,
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
  async list(
    @CurrentCaller() caller: Caller,
    @Query(new ZodValidationPipe(listTeardownsSchema)) query: ListTeardownsDto,
  ) {
    const { data, nextCursor } = await this.teardowns.list(caller, query);
    const approvals = await this.approvals.of(data.map((t) => t.id));
    return { data: data.map((t) => presentTeardown(t, approvals.get(t.id))), nextCursor };
  }

  @Get(':id')
  @Roles('requester', 'approver', 'auditor')
  async get(@CurrentCaller() caller: Caller, @Param('id', idPipe) id: string) {
    return this.present(await this.teardowns.get(caller, id));
  }

  @Post(':id/abort')
  @HttpCode(200)
  @Roles('requester')
  async abort(@CurrentCaller() caller: Caller, @Param('id', idPipe) id: string) {
    return this.present(await this.teardowns.abort(caller, id));
  }

  @Post(':id/retry')
  @HttpCode(202)
  @Roles('requester')
  async retry(@CurrentCaller() caller: Caller, @Param('id', idPipe) id: string) {
    return this.present(await this.teardowns.retry(caller, id));
  }

  @Get(':id/audit')
  @Roles('requester', 'approver', 'auditor')
  async audit(@CurrentCaller() caller: Caller, @Param('id', idPipe) id: string) {
    return { data: await this.teardowns.auditTrail(caller, id) };
  }

  @Get(':id/archive')
  @Roles('auditor')
  async archive(@CurrentCaller() caller: Caller, @Param('id', idPipe) id: string) {
    return this.teardowns.archiveOf(caller, id);
  }

  private async present(teardown: Teardown) {
    const approvals = await this.approvals.of([teardown.id]);
    return presentTeardown(teardown, approvals.get(teardown.id));
  }
}
