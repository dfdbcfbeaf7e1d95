import { type DynamicModule, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { RequestHandler } from 'express';
import { LoggerModule, PinoLogger } from 'nestjs-pino';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { LOG_CONTEXT, type LogContext } from '../common/log-context.js';
import { accessLogOptions } from './logging.js';

/** The access-log middleware, which configureApp mounts before everything else. */
export const ACCESS_LOG = Symbol('ACCESS_LOG');
const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/** Log lines written while `work` runs carry `bindings` (undefined values left out). */
@Injectable()
class PinoLogContext implements LogContext {
  constructor(private readonly pino: PinoLogger) {}

  run<T>(bindings: Readonly<Record<string, string | undefined>>, work: () => Promise<T>): Promise<T> {
    const defined = Object.fromEntries(Object.entries(bindings).filter(([, v]) => v !== undefined));
    return this.pino.runInContext(work, { bindings: defined });
  }
}

/** The writes are asynchronous: what is still buffered goes out before the process ends. */
@Injectable()
class LogFlusher implements OnApplicationShutdown {
  constructor(@Inject(ROOT_LOGGER) private readonly logger: Logger) {}

  async onApplicationShutdown(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.logger.flush(() => resolve());
    });
  }
}

/**
 * Logging through nestjs-pino: Nest's `Logger` (every module's) writes through the given pino
 * logger, with the request's id (and, in a teardown's run, its id) on each line, taken from the
 * async context. The access log's pino-http instance is mounted by configureApp rather than as a
 * Nest middleware (`useExisting`), so that requests refused before routing are logged too.
 */
@Module({})
export class LoggingModule {
  static forRoot(logger: Logger): DynamicModule {
    return {
      module: LoggingModule,
      global: true,
      imports: [LoggerModule.forRoot({ pinoHttp: accessLogOptions(logger), useExisting: true })],
      providers: [
        { provide: ROOT_LOGGER, useValue: logger },
        {
          provide: ACCESS_LOG,
          useFactory: (): RequestHandler => pinoHttp(accessLogOptions(logger)),
        },
        { provide: LOG_CONTEXT, useClass: PinoLogContext },
        LogFlusher,
      ],
      exports: [ACCESS_LOG, LOG_CONTEXT],
    };
  }
}
