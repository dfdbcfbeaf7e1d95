import { ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Public } from '../auth/api-key.guard.js';
import { PrometheusMetricsService } from './prometheus-metrics.service.js';

/** `GET /metrics`: the Prometheus text format, without authentication (the contract's Operations). */
@Controller()
@Public()
export class MetricsController {
  constructor(private readonly metrics: PrometheusMetricsService) {}

  @Get('metrics')
  @ApiTags('operations')
  @ApiOperation({ summary: 'Prometheus metrics (text exposition format), without authentication' })
  @ApiProduces('text/plain')
  @ApiResponse({ status: 200, description: 'the metrics, Prometheus text format 0.0.4' })
  async scrape(@Res() response: Response): Promise<void> {
    const { contentType, text } = await this.metrics.scrape();
    response.status(200).setHeader('Content-Type', contentType);
    response.setHeader('Cache-Control', 'no-store');
    response.send(text);
  }
}
