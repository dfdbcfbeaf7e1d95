import { Global, Module } from '@nestjs/common';
import { HttpMetricsMiddleware } from './http-metrics.middleware.js';
import { MetricsController } from './metrics.controller.js';
import { METRICS } from './metrics.port.js';
import { PrometheusMetricsService } from './prometheus-metrics.service.js';

/**
 * The metrics port (`METRICS`), global so that every module can report through it without
 * importing ops, and `GET /metrics`. Apart from OpsModule (health), which imports the modules it
 * checks: those inject METRICS themselves.
 */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [
    PrometheusMetricsService,
    { provide: METRICS, useExisting: PrometheusMetricsService },
    HttpMetricsMiddleware,
  ],
  exports: [METRICS, HttpMetricsMiddleware],
})
export class MetricsModule {}
