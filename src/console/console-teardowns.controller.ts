import { Controller, Get, Param, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApprovalService } from '../approvals/approval.service.js';
import type { Decision } from '../approvals/approval.js';
import { Public } from '../auth/api-key.guard.js';
import { hasRole } from '../auth/caller.js';
import { teardownIdSchema } from '../common/ids.dto.js';
import { PathIdPipe } from '../common/path-id.pipe.js';
import { TEARDOWN_STATUSES } from '../teardown/teardown.js';
import { ConsoleAuthGuard } from './console-auth.guard.js';
import { ConsoleExceptionFilter } from './console-exception.filter.js';
import { decisionFormSchema, parseForm, teardownFilterSchema } from './console-forms.js';
import { type ConsoleRequest, requireRole } from './console-request.js';
import { ConsoleViews } from './console-views.js';
import { callerOfRequest, frameOf } from './console-request.js';
import { TeardownPageService } from './teardown-page.service.js';
import {
  bytesText,
  decisionStateOf,
  finalChangesOf,
  progressOf,
  STATUS_BADGES,
  timelineOf,
} from './teardown-view.js';

const idPipe = new PathIdPipe(teardownIdSchema, 'TEARDOWN_NOT_FOUND', 'teardown');

/** The teardown list, a teardown's page, its live progress, and approving or rejecting it. */
@Controller('console')
@Public()
@ApiExcludeController()
@UseGuards(ConsoleAuthGuard)
@UseFilters(ConsoleExceptionFilter)
export class ConsoleTeardownsController {
  constructor(
    private readonly pages: TeardownPageService,
    private readonly approvals: ApprovalService,
    private readonly views: ConsoleViews,
  ) {}

  @Get('teardowns')
  async list(
    @Req() request: ConsoleRequest,
    @Res() response: Response,
    @Query() query: unknown,
  ): Promise<void> {
    const caller = callerOfRequest(request);
    const filter = parseForm(teardownFilterSchema, query);
    const { data, nextCursor } = await this.pages.list(caller, filter);
    const next = nextCursor
      ? new URLSearchParams({ ...withoutCursor(filter), cursor: nextCursor }).toString()
      : null;
    this.views.render(response, 'teardowns', frameOf(request, 'Teardowns', 'teardowns'), {
      teardowns: data,
      badges: STATUS_BADGES,
      statuses: TEARDOWN_STATUSES,
      filter,
      nextQuery: next,
      seesAll: hasRole(caller, 'approver') || hasRole(caller, 'auditor'),
    });
  }

  @Get('approvals')
  async awaiting(@Req() request: ConsoleRequest, @Res() response: Response): Promise<void> {
    const caller = callerOfRequest(request);
    const { data } = await this.pages.list(caller, { status: 'awaiting_approval' });
    const rows = data.map((teardown) => ({ teardown, decision: decisionStateOf(caller, teardown) }));
    this.views.render(response, 'approvals', frameOf(request, 'Approvals', 'approvals'), {
      mine: rows.filter((r) => r.decision.allowed),
      others: rows.filter((r) => !r.decision.allowed),
      badges: STATUS_BADGES,
    });
  }

  @Get('teardowns/:id')
  async detail(
    @Req() request: ConsoleRequest,
    @Res() response: Response,
    @Param('id', idPipe) id: string,
  ): Promise<void> {
    const caller = callerOfRequest(request);
    const { domain, resource } = await this.pages.resource(caller, id);
    const trail = await this.pages.auditTrail(caller, id);
    const deciding = resource.status === 'awaiting_approval';
    const [archive, receipt, live, earlier] = await Promise.all([
      this.pages.archive(caller, resource),
      this.pages.receipt(caller, domain, trail),
      hasRole(caller, 'approver') ? this.pages.liveWorkflow(resource) : Promise.resolve(null),
      // before a decision, the workflow's earlier archives (a dry run's) are the evidence at hand
      deciding ? this.pages.list(caller, { workflowId: resource.workflowId }) : Promise.resolve(null),
    ]);
    this.views.render(response, 'teardown', frameOf(request, `Teardown ${id}`, 'teardowns'), {
      teardown: resource,
      badge: STATUS_BADGES[resource.status],
      progress: progressOf(resource),
      timeline: timelineOf(trail),
      archive: archive.archive,
      archiveNote: archive.note,
      finalChanges: finalChangesOf(resource),
      receipt,
      live,
      earlierArchives: (earlier?.data ?? []).filter((t) => t.id !== resource.id && t.archive !== null),
      decision: decisionStateOf(caller, resource),
      canSeeRestores: hasRole(caller, 'auditor'),
      bytesText,
    });
  }

  /** The live progress bar's source (assets/console.js polls it). */
  @Get('teardowns/:id/progress.json')
  async progress(@Req() request: ConsoleRequest, @Param('id', idPipe) id: string) {
    const { resource } = await this.pages.resource(callerOfRequest(request), id);
    return progressOf(resource);
  }

  @Post('teardowns/:id/approve')
  async approve(@Req() request: ConsoleRequest, @Res() response: Response, @Param('id', idPipe) id: string) {
    await this.decide(request, id, 'approved');
    response.redirect(303, `/console/teardowns/${id}`);
  }

  @Post('teardowns/:id/reject')
  async reject(@Req() request: ConsoleRequest, @Res() response: Response, @Param('id', idPipe) id: string) {
    await this.decide(request, id, 'rejected');
    response.redirect(303, `/console/teardowns/${id}`);
  }

  /** The REST API's use case, so the decision is audited as this person, under the same rules. */
  private async decide(request: ConsoleRequest, id: string, decision: Decision): Promise<void> {
    const caller = callerOfRequest(request);
    const form = parseForm(decisionFormSchema, request.body);
    requireRole(caller, 'approver');
    await this.approvals.decide(caller, id, decision, form.comment ?? null);
  }
}

function withoutCursor(filter: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(filter).filter((e): e is [string, string] => e[0] !== 'cursor' && e[1] !== undefined),
  );
}
