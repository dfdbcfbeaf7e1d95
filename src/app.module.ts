import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import type { Logger } from 'pino';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule } from './auth/auth.module.js';
import { HttpClientErrorHandler } from './common/http-client-error.handler.js';
import { HttpExceptionFilter } from './common/http-exception.filter.js';
import { JsonContentTypeGuard } from './common/json-content-type.guard.js';
import { requestContextMiddleware } from './common/request-context.js';
import type { AppConfig } from './config/app.config.js';
import { ConfigModule } from './config/config.module.js';
import { ConsoleModule } from './console/console.module.js';
import { DbModule } from './db/db.module.js';
import { createRootLogger } from './ops/logging.js';
import { LoggingModule } from './ops/logging.module.js';
import { MetricsModule } from './ops/metrics.module.js';
import { OpsModule } from './ops/ops.module.js';
import { TeardownModule } from './teardown/teardown.module.js';

@Module({})
export class AppModule implements NestModule {
  /** `logger`: the pino logger every line goes through (main.ts's, or a test's capturing one). */
  static forRoot(config: AppConfig, logger: Logger = createRootLogger(config)) {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(logger),
        MetricsModule,
        DbModule,
        AuthModule,
        AuditModule,
        // registers ApprovalsModule and LegalHoldModule, handing them the ports they need from the
        // teardown side
        TeardownModule,
        ConsoleModule,
        OpsModule,
      ],
      providers: [
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
        { provide: APP_GUARD, useClass: JsonContentTypeGuard },
        HttpClientErrorHandler,
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(requestContextMiddleware).forRoutes('*path');
  }
}
