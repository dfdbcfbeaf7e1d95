import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard } from './api-key.guard.js';
import { ApiKeyVerifier } from './api-key.verifier.js';
import { ApiRateLimiter } from './api-rate-limiter.js';

@Module({
  providers: [ApiKeyVerifier, ApiRateLimiter, { provide: APP_GUARD, useClass: ApiKeyGuard }],
  // the console signs people in with the same key check and rate limit
  exports: [ApiKeyVerifier, ApiRateLimiter],
})
export class AuthModule {}
