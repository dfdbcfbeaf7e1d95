import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiParam, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/api-key.guard.js';
import type { Caller } from '../auth/caller.js';
import { CurrentCaller } from '../auth/current-caller.decorator.js';
import { teardownIdSchema } from '../common/ids.dto.js';
import { PathIdPipe } from '../common/path-id.pipe.js';
import { validated } from '../common/zod-validation.pipe.js';
import { ApiRoute } from '../openapi/api-docs.decorators.js';
import { presentTeardown, teardownResourceSchema } from '../teardown/teardown.presenter.js';
import type { Decision } from './approval.js';
import { type DecisionDto, decisionSchema } from './approval.dto.js';
import { ApprovalService } from './approval.service.js';

const idPipe = new PathIdPipe(teardownIdSchema, 'TEARDOWN_NOT_FOUND', 'teardown');

/**
 * Approving and rejecting a teardown (service contract: role `approver`, never the requester).
 * Both answer with the teardown resource, as `GET /v1/teardowns/{id}` shows it.
 */
const TEARDOWN_ID = ApiParam({
  name: 'id',
  description: 'a teardown id (`td_…`)',
  schema: { type: 'string' },
});
const DECISION_ERRORS = [
  'TEARDOWN_NOT_FOUND',
  'TEARDOWN_NOT_AWAITING_APPROVAL',
  'APPROVAL_NOT_ALLOWED',
  'APPROVAL_ALREADY_RECORDED',
  'APPROVAL_EXPIRED',
] as const;

@Controller('v1/teardowns')
@ApiTags('teardowns')
@ApiBearerAuth('apiKey')
export class ApprovalController {
  constructor(private readonly approvals: ApprovalService) {}

  @Post(':id/approve')
  @HttpCode(200)
  @Roles('approver')
  @ApiRoute({
    summary: 'Approve a teardown awaiting approval',
    description: 'Role `approver`, never its requester; the last approval needed queues it.',
    status: 200,
    schema: teardownResourceSchema,
    errors: [...DECISION_ERRORS],
  })
  @TEARDOWN_ID
  async approve(
    @CurrentCaller() caller: Caller,
    @Param('id', idPipe) id: string,
    @Body(validated(decisionSchema)) body: DecisionDto,
  ) {
    return this.decide(caller, id, 'approved', body);
  }

  @Post(':id/reject')
  @HttpCode(200)
  @Roles('approver')
  @ApiRoute({
    summary: 'Reject a teardown awaiting approval (it ends as rejected)',
    description: 'Role `approver`, never its requester.',
    status: 200,
    schema: teardownResourceSchema,
    errors: [...DECISION_ERRORS],
  })
  @TEARDOWN_ID
  async reject(
    @CurrentCaller() caller: Caller,
    @Param('id', idPipe) id: string,
    @Body(validated(decisionSchema)) body: DecisionDto,
  ) {
    return this.decide(caller, id, 'rejected', body);
  }

  private async decide(caller: Caller, id: string, decision: Decision, body: DecisionDto) {
    const { teardown, approvals } = await this.approvals.decide(caller, id, decision, body.comment ?? null);
    return presentTeardown(teardown, approvals);
  }
}
