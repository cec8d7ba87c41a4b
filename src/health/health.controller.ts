import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiErrors, ApiZodResponse } from '../common/zod.js';
import { HealthService } from './health.service.js';

const HealthResponse = z.object({
  status: z.literal('ok'),
  version: z.string(),
  database: z.object({ status: z.literal('up'), kind: z.enum(['embedded', 'postgresql']) }),
  domains: z.array(z.string()),
});

@ApiTags('health')
@Controller('api')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('health')
  @ApiOperation({ summary: 'Liveness and database readiness (503 when the database is down)' })
  @ApiZodResponse(200, HealthResponse)
  @ApiErrors(503)
  check() {
    return this.health.check();
  }
}
