import { Injectable, type OnModuleDestroy } from '@nestjs/common';

/**
 * Whether the application is shutting down. Set by the first shutdown hook Nest runs
 * (OnModuleDestroy), so `/readyz` answers 503 while the worker drains its teardowns (up to 30 s,
 * in BeforeApplicationShutdown) and the HTTP server still answers: a load balancer stops sending
 * traffic before the server closes.
 */
@Injectable()
export class ShutdownState implements OnModuleDestroy {
  private closing = false;

  get shuttingDown(): boolean {
    return this.closing;
  }

  onModuleDestroy(): void {
    this.closing = true;
  }
}
