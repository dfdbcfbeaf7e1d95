import { Module } from '@nestjs/common';
import { DialnexaClient } from './dialnexa.client.js';

/** The upstream DialNexa API. Needs the global `ConfigModule` (it injects `APP_CONFIG`). */
@Module({
  providers: [DialnexaClient],
  exports: [DialnexaClient],
})
export class DialnexaModule {}
