import { Controller, Get, HttpCode, Inject, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ArchiveStoreClient } from '../archive/archive-store.client.js';
import { Public } from '../auth/api-key.guard.js';
import type { AppConfig } from '../config/app.config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { truncate } from '../common/text.js';
import { DialnexaClient } from '../dialnexa/dialnexa.client.js';
import { livenessSchema, readinessSchema } from './health.dto.js';
import { HealthRepository } from './health.repository.js';

interface Check {
  ok: boolean;
  ms: number;
  reason?: string;
}

const CHECK_TIMEOUT_MS = 3_000;
/** The upstream probe costs a request of the rate limit: its answer is reused for a while. */
const UPSTREAM_CACHE_MS = 10_000;

@Controller()
@Public()
@ApiTags('operations')
export class HealthController {
  private upstream: { at: number; check: Check } | null = null;

  constructor(
    private readonly db: HealthRepository,
    private readonly store: ArchiveStoreClient,
    private readonly dialnexa: DialnexaClient,
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
  @ApiOperation({ summary: 'Readiness: database, bucket and DialNexa reachable' })
  @ApiResponse({ status: 200, standardSchema: readinessSchema, description: 'ready' })
  @ApiResponse({ status: 503, standardSchema: readinessSchema, description: 'a check failed, named' })
  async readyz(@Res({ passthrough: true }) response: Response) {
    const [database, bucket, upstream] = await Promise.all([
      timed(() => this.db.ping()),
      timed(async () => {
        const result = await this.store.checkBucket(this.config.archive.lockMode);
        if (!result.ok) throw new Error(result.reason);
      }),
      this.upstreamCheck(),
    ]);
    const ok = database.ok && bucket.ok && upstream.ok;
    response.status(ok ? 200 : 503);
    return { status: ok ? 'ready' : 'not_ready', checks: { database, bucket, upstream } };
  }

  private async upstreamCheck(): Promise<Check> {
    if (this.upstream && this.upstream.check.ok && Date.now() - this.upstream.at < UPSTREAM_CACHE_MS) {
      return this.upstream.check;
    }
    const check = await timed(() => this.dialnexa.probe({ signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) }));
    this.upstream = { at: Date.now(), check };
    return check;
  }
}

async function timed(fn: () => Promise<void>): Promise<Check> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return { ok: true, ms: Date.now() - started };
  } catch (error) {
    return {
      ok: false,
      ms: Date.now() - started,
      reason: error instanceof Error ? truncate(error.message, 200) : 'failed',
    };
  } finally {
    clearTimeout(timer);
  }
}
