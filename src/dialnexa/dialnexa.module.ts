import { Module } from '@nestjs/common';
import type { AppConfig } from '../config/app.config.js';
import { APP_CONFIG } from '../config/config.module.js';
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
      inject: [APP_CONFIG, RateBudgetRepository],
      useFactory: (config: AppConfig, budgets: RateBudgetRepository): DialnexaClientDeps =>
        config.dialnexa.rateBudget === 'shared'
          ? {
              gate: new SharedRateGate(budgets, config.dialnexa.baseUrl, config.dialnexa.apiKey, {
                maxWaitMs: config.dialnexa.maxRateLimitWaitMs,
              }),
            }
          : {},
    },
    DialnexaClient,
  ],
  exports: [DialnexaClient],
})
export class DialnexaModule {}
