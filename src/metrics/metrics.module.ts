import { DynamicModule, Global, Module } from '@nestjs/common';
import type { AppConfig, MetricsSettings } from '../config/config.js';
import { DeliveryReport } from './delivery-report.js';
import { MetricsController } from './metrics.controller.js';
import { NodeMetrics } from './node-metrics.js';

/** Whether GET /api/metrics is a route of the public listener (docs/operators.md, "Metrics"). */
export const metricsOnPublicListener = (settings: MetricsSettings): boolean =>
  settings.port === undefined && settings.token !== undefined;

/** The node's one metrics registry, for every module that counts something. */
@Global()
@Module({})
export class MetricsModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: MetricsModule,
      providers: [NodeMetrics, DeliveryReport],
      controllers: metricsOnPublicListener(config.metrics) ? [MetricsController] : [],
      exports: [NodeMetrics, DeliveryReport],
    };
  }
}
