import {
  Controller,
  Get,
  HttpCode,
  Inject,
  Logger,
  Req,
  Res,
  ServiceUnavailableException,
} from '@nestjs/common';
import {
  type HealthCheckResult,
  HealthCheckService,
  HealthIndicatorService,
  type HealthIndicatorResult,
} from '@nestjs/terminus';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ArchiveStoreClient } from '../archive/archive-store.client.js';
import { type AuthenticatedRequest, OptionalAuth, Public } from '../auth/api-key.guard.js';
import { hasRole } from '../auth/caller.js';
import type { AppConfig } from '../config/app.config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { truncate } from '../common/text.js';
import { DialnexaClient } from '../dialnexa/dialnexa.client.js';
import { METRICS, type ReadinessMetrics } from './metrics.port.js';
import { livenessSchema, readinessSchema } from './health.dto.js';
import { HealthRepository } from './health.repository.js';
import { ShutdownState } from './shutdown.state.js';

const CHECK_TIMEOUT_MS = 3_000;
/**
 * Any DialNexa answer this recent (to a teardown's request, or to the last probe) shows it
 * reachable with our key: no probe is sent, so readiness spends no rate budget while work runs.
 */
const UPSTREAM_RECENT_MS = 30_000;

type CheckName = 'database' | 'bucket' | 'upstream';

export interface CheckAnswer {
  ok: boolean;
  ms?: number;
  /** The failure's text: for callers with the admin role only (everyone else reads it in the log). */
  reason?: string;
}

export interface ReadinessAnswer {
  status: 'ready' | 'not_ready';
  checks: Partial<Record<CheckName | 'shutdown', CheckAnswer>>;
}

/**
 * `/healthz` (liveness: the process answers) and `/readyz` (database, bucket and DialNexa, through
 * @nestjs/terminus), both without authentication. `/readyz` answers 503 naming the failing check,
 * and from the moment shutdown begins; why a check failed goes to the log, and to admins.
 */
@Controller()
@Public()
@ApiTags('operations')
export class HealthController {
  private readonly logger = new Logger(HealthController.name);

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly db: HealthRepository,
    private readonly store: ArchiveStoreClient,
    private readonly dialnexa: DialnexaClient,
    private readonly shutdown: ShutdownState,
    @Inject(METRICS) private readonly metrics: ReadinessMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get('healthz')
  @HttpCode(200)
  @ApiOperation({ summary: 'Liveness: the process answers' })
  @ApiResponse({ status: 200, standardSchema: livenessSchema, description: 'alive' })
  healthz() {
    return { status: 'ok' };
  }

  @Get('readyz')
  @OptionalAuth()
  @ApiOperation({
    summary: 'Readiness: database, bucket and DialNexa reachable; 503 from the start of shutdown',
    description:
      'Without authentication a failing check is named without its reason; callers with the admin role also get the reason.',
  })
  @ApiResponse({ status: 200, standardSchema: readinessSchema, description: 'ready' })
  @ApiResponse({ status: 503, standardSchema: readinessSchema, description: 'a check failed, named' })
  async readyz(
    @Req() request: AuthenticatedRequest,
    @Res({ passthrough: true }) response: Response,
  ): Promise<ReadinessAnswer> {
    if (this.shutdown.shuttingDown) {
      this.metrics.readinessChecked('shutdown', false);
      response.status(503);
      return { status: 'not_ready', checks: { shutdown: { ok: false } } };
    }
    let result: HealthCheckResult;
    try {
      result = await this.health.check([
        () => this.check('database', () => this.db.ping()),
        () =>
          this.check('bucket', async () => {
            const bucket = await this.store.checkBucket(this.config.archive.lockMode);
            if (!bucket.ok) throw new Error(bucket.reason);
          }),
        () => this.check('upstream', () => this.upstream()),
      ]);
    } catch (error) {
      // terminus answers a failed (or shutting-down) check with a 503 carrying its result
      if (!(error instanceof ServiceUnavailableException)) throw error;
      result = error.getResponse() as HealthCheckResult;
    }
    const ok = result.status === 'ok' && !this.shutdown.shuttingDown;
    const admin = request.caller !== undefined && hasRole(request.caller, 'admin');
    const checks: ReadinessAnswer['checks'] = {};
    for (const [name, detail] of Object.entries(result.details)) {
      const d = detail as { status: string; ms?: number; reason?: string };
      const answer: CheckAnswer = { ok: d.status === 'up', ms: d.ms };
      if (admin && d.reason !== undefined) answer.reason = d.reason;
      checks[name as CheckName] = answer;
    }
    if (result.status === 'shutting_down' || this.shutdown.shuttingDown) checks.shutdown = { ok: false };
    for (const [name, answer] of Object.entries(checks)) this.metrics.readinessChecked(name, answer.ok);
    response.status(ok ? 200 : 503);
    return { status: ok ? 'ready' : 'not_ready', checks };
  }

  private async upstream(): Promise<void> {
    if (this.dialnexa.reachableWithin(UPSTREAM_RECENT_MS)) return;
    await this.dialnexa.probe({ signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) });
  }

  /** Up or down with its time; a failure's text is logged here, and kept for admins. */
  private async check(name: CheckName, probe: () => Promise<void>): Promise<HealthIndicatorResult> {
    const session = this.indicators.check(name);
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        probe(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
            CHECK_TIMEOUT_MS,
          );
        }),
      ]);
      return session.up({ ms: Date.now() - started });
    } catch (error) {
      const reason = error instanceof Error ? truncate(error.message, 200) : 'failed';
      this.logger.warn(`readiness check ${name} failed: ${reason}`);
      return session.down({ ms: Date.now() - started, reason });
    } finally {
      clearTimeout(timer);
    }
  }
}
