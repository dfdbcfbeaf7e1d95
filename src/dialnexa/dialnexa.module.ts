import { Module } from '@nestjs/common';
import type { AppConfig } from '../config/app.config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { METRICS, NO_METRICS, type UpstreamMetrics } from '../ops/metrics.port.js';
import { DIALNEXA_CLIENT_DEPS, DialnexaClient, type DialnexaClientDeps } from './dialnexa.client.js';
import { RateBudgetRepository } from './rate-budget.repository.js';
import { SharedRateGate } from './shared-rate.gate.js';

/**
 * The upstream DialNexa API. Needs the global `ConfigModule` (it injects `APP_CONFIG`) and, with
 * `DIALNEXA_RATE_BUDGET=shared` (the default), the global database module: the key's rate window
 * is shared by every replica through PostgreSQL.
 */
@Module({
  providers: [
    RateBudgetRepository,
    {
      provide: DIALNEXA_CLIENT_DEPS,
      inject: [APP_CONFIG, RateBudgetRepository, { token: METRICS, optional: true }],
      useFactory: (
        config: AppConfig,
        budgets: RateBudgetRepository,
        found: UpstreamMetrics | undefined,
      ): DialnexaClientDeps => {
        const metrics = found ?? NO_METRICS;
        return config.dialnexa.rateBudget === 'shared'
          ? {
              metrics,
              gate: new SharedRateGate(budgets, config.dialnexa.baseUrl, config.dialnexa.apiKey, {
                maxWaitMs: config.dialnexa.maxRateLimitWaitMs,
                onRemaining: (tokens) => metrics.rateBudgetRemaining(tokens),
              }),
            }
          : { metrics };
      },
    },
    DialnexaClient,
  ],
  exports: [DialnexaClient],
})
export class DialnexaModule {}
