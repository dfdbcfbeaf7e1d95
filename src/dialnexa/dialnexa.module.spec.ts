import { describe, it, expect } from '@jest/globals';
import { Test } from '@nestjs/testing';
import type { AppConfig } from '../config/app.config.js';
import { ConfigModule } from '../config/config.module.js';
import { DialnexaClient } from './dialnexa.client.js';
import { DialnexaModule } from './dialnexa.module.js';
import { RateBudgetRepository } from './rate-budget.repository.js';

function buildAppConfig(): AppConfig {
  // only the DialNexa part is read by this module
  return {
    dialnexa: {
      baseUrl: 'https://api.dialnexa.test',
      apiKey: 'dnx_test_module',
      connectTimeoutMs: 1000,
      headersTimeoutMs: 1000,
      bodyTimeoutMs: 1000,
      maxAttempts: 2,
      retryBaseMs: 10,
      retryMaxMs: 100,
      maxRateLimitWaitMs: 1000,
      rateBudget: 'shared',
      pageConcurrency: 4,
    },
  } as AppConfig;
}

describe(DialnexaModule.name, () => {
  it('provides a DialnexaClient from the global configuration and closes it with the app', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(buildAppConfig()), DialnexaModule],
    })
      // the shared budget's table is PostgreSQL's (the integration tier); here it is never reached
      .overrideProvider(RateBudgetRepository)
      .useValue({})
      .compile();

    const sut = moduleRef.get(DialnexaClient);

    expect(sut).toBeInstanceOf(DialnexaClient);
    await expect(moduleRef.close()).resolves.toBeUndefined();
  });
});
