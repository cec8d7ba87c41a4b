import { Controller, Get, Header, Headers, Inject, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiErrors } from '../common/zod.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { requireMetricsToken } from './metrics-token.js';
import { NodeMetrics } from './node-metrics.js';

/**
 * GET /api/metrics on the public listener: present only when KEYPEARS_METRICS_TOKEN is set and
 * KEYPEARS_METRICS_PORT is not (docs/operators.md, "Metrics"); every scrape shows the token.
 */
@ApiTags('operations')
@Controller('api')
export class MetricsController {
  constructor(
    private readonly metrics: NodeMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get('metrics')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'The node\'s metrics in the Prometheus text format (docs/operators.md, "Metrics")' })
  @ApiBearerAuth()
  @ApiProduces('text/plain')
  @ApiResponse({ status: 200, description: 'Prometheus text exposition format 0.0.4' })
  @ApiErrors(401)
  async scrape(
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    requireMetricsToken(authorization, this.config.metrics.token);
    void reply.header('Content-Type', this.metrics.contentType);
    return this.metrics.scrape();
  }
}
