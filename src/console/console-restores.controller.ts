import { Controller, Get, Param, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { z } from 'zod';
import { Public } from '../auth/api-key.guard.js';
import { hasRole } from '../auth/caller.js';
import { restoreIdSchema, teardownIdSchema } from '../common/ids.dto.js';
import { PathIdPipe } from '../common/path-id.pipe.js';
import { createRestoreSchema } from '../restore/restore.dto.js';
import { presentRestore } from '../restore/restore.presenter.js';
import { RestoreService } from '../restore/restore.service.js';
import { isRestoreRunning } from '../restore/restore.js';
import { ConsoleAuthGuard } from './console-auth.guard.js';
import { ConsoleExceptionFilter } from './console-exception.filter.js';
import { parseForm } from './console-forms.js';
import { callerOfRequest, type ConsoleRequest, frameOf, requireRole } from './console-request.js';
import { ConsoleViews } from './console-views.js';
import { TeardownPageService } from './teardown-page.service.js';

const teardownQuery = z.strictObject({ teardownId: teardownIdSchema });
/** Id map rows shown per kind; the whole map is in the bucket (idMapKey). */
const ID_MAP_ROWS = 200;

/**
 * Restores (admins start them, auditors read them): a dry run first, its report, then the real
 * restore with the same settings, and its id map. Through RestoreService, as POST /v1/restores.
 */
@Controller('console/restores')
@Public()
@ApiExcludeController()
@UseGuards(ConsoleAuthGuard)
@UseFilters(ConsoleExceptionFilter)
export class ConsoleRestoresController {
  constructor(
    private readonly restores: RestoreService,
    private readonly pages: TeardownPageService,
    private readonly views: ConsoleViews,
  ) {}

  @Get()
  async list(@Req() request: ConsoleRequest, @Res() response: Response, @Query() query: unknown) {
    const caller = callerOfRequest(request);
    requireRole(caller, 'admin', 'auditor');
    const { teardownId } = parseForm(teardownQuery, query);
    const { resource } = await this.pages.resource(caller, teardownId);
    const found = await this.restores.list({ teardownId, limit: 50 });
    this.views.render(response, 'restores', frameOf(request, 'Restores', 'teardowns'), {
      teardown: resource,
      restores: found.map(({ restore, items }) => presentRestore(restore, items)),
      canStart: hasRole(caller, 'admin'),
      restorable: resource.status === 'completed' && !resource.dryRun && resource.archive !== null,
    });
  }

  @Post()
  async start(@Req() request: ConsoleRequest, @Res() response: Response): Promise<void> {
    const caller = callerOfRequest(request);
    requireRole(caller, 'admin');
    const form = request.body as Record<string, unknown>;
    const text = (name: string) => (typeof form[name] === 'string' ? form[name] : undefined);
    const statuses = text('excludeLeadStatuses');
    const dto = parseForm(createRestoreSchema, {
      teardownId: text('teardownId'),
      snapshot: text('snapshot') || undefined,
      reason: text('reason'),
      dryRun: text('dryRun') === 'true',
      excludeLeadStatuses: statuses === undefined ? undefined : statuses.split(/[\s,]+/).filter(Boolean),
    });
    const { restore } = await this.restores.create(caller, dto, undefined);
    response.redirect(303, `/console/restores/${restore.id}`);
  }

  @Get(':id')
  async detail(
    @Req() request: ConsoleRequest,
    @Res() response: Response,
    @Param('id', new PathIdPipe(restoreIdSchema, 'RESTORE_NOT_FOUND', 'restore')) id: string,
  ): Promise<void> {
    const caller = callerOfRequest(request);
    requireRole(caller, 'admin', 'auditor');
    const { restore, items } = await this.restores.get(id);
    const resource = presentRestore(restore, items);
    const frame = frameOf(request, `Restore ${id}`, 'teardowns');
    this.views.render(
      response,
      'restore',
      isRestoreRunning(restore.status) ? { ...frame, refreshSeconds: 2 } : frame,
      {
        restore: resource,
        idMap: (['workflow', 'nodes', 'edges', 'leads'] as const).map((kind) => {
          const entries = Object.entries(resource.idMap[kind]);
          return { kind, total: entries.length, rows: entries.slice(0, ID_MAP_ROWS) };
        }),
        canStart: hasRole(caller, 'admin'),
      },
    );
  }
}
