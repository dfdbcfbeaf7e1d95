import { type DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule as NestConfigModule, ConfigService } from '@nestjs/config';
import { type AppConfig, loadConfig } from './app.config.js';

/** Injection token of the validated, typed configuration. */
export const APP_CONFIG = Symbol('APP_CONFIG');

/**
 * The configuration, loaded once through @nestjs/config from the one validated schema in
 * app.config.ts. main.ts loads it before Nest starts so that a bad environment stops the process
 * with every problem listed; tests pass a configuration of their own.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config?: AppConfig): DynamicModule {
    return {
      module: ConfigModule,
      imports: [
        NestConfigModule.forRoot({
          ignoreEnvFile: true, // `npm start` reads .env through Node's --env-file-if-exists
          load: [() => ({ app: config ?? loadConfig(process.env) })],
        }),
      ],
      providers: [
        {
          provide: APP_CONFIG,
          inject: [ConfigService],
          useFactory: (service: ConfigService) => service.getOrThrow<AppConfig>('app'),
        },
      ],
      exports: [APP_CONFIG],
    };
  }
}
