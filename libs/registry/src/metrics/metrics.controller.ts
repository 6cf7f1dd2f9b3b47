import { Controller, Get, Header } from '@nestjs/common';
import { Public } from '../auth/public.decorator';
import { RegistryMetrics } from './registry-metrics';

@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: RegistryMetrics) {}

  @Public()
  @Get()
  @Header('cache-control', 'no-store')
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}
