import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard } from './api-key.guard.js';
import { ApiRateLimiter } from './api-rate-limiter.js';

@Module({ providers: [ApiRateLimiter, { provide: APP_GUARD, useClass: ApiKeyGuard }] })
export class AuthModule {}
