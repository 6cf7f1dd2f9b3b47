import { Controller, Get } from '@nestjs/common';
import { Public } from '../auth/public.decorator';
import { BackendsService } from './backends.service';

@Controller('v1/pools')
export class PoolsController {
  constructor(private readonly backends: BackendsService) {}

  @Public()
  @Get()
  async pools(): Promise<{ pools: string[] }> {
    return { pools: await this.backends.pools() };
  }
}
