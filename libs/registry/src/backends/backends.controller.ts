import { Body, Controller, Delete, Get, HttpCode, Ip, Param, Post, Query, Res } from '@nestjs/common';
import {
  BackendIdParam,
  DEFAULT_POOL,
  HeartbeatRequest,
  type HeartbeatResponse,
  PoolQuery,
  RegisterBackendRequest,
  type RegisterBackendInput,
  type RegistrationResponse,
} from '@lb/balancing';
import { Public } from '../auth/public.decorator';
import { RateLimits, type RetryAfterTarget } from '../limits/rate-limits';
import { ZodValidationPipe } from '../validation/zod-validation.pipe';
import type { BackendApiView, BackendListResponse } from './backend-api-view';
import { BackendsService } from './backends.service';

const idParam = new ZodValidationPipe(BackendIdParam, 'id');

/** /v1/backends: the wire contract of `@lb/balancing`'s registry-api.ts. Reads are open, changes need the token. */
@Controller('v1/backends')
export class BackendsController {
  constructor(
    private readonly backends: BackendsService,
    private readonly limits: RateLimits,
  ) {}

  @Post()
  @HttpCode(201)
  register(
    @Body(new ZodValidationPipe(RegisterBackendRequest, 'body')) body: RegisterBackendInput,
    @Ip() address: string,
    @Res({ passthrough: true }) reply: RetryAfterTarget,
  ): Promise<RegistrationResponse> {
    this.limits.admitRegistration(body.id, address, reply);
    return this.backends.register(body);
  }

  @Public()
  @Get()
  list(@Query(new ZodValidationPipe(PoolQuery, 'query')) query: { pool?: string }): Promise<BackendListResponse> {
    return this.backends.list(query.pool ?? DEFAULT_POOL);
  }

  @Public()
  @Get(':id')
  get(@Param('id', idParam) id: string): Promise<BackendApiView> {
    return this.backends.get(id);
  }

  @Post(':id/heartbeat')
  @HttpCode(200)
  heartbeat(
    @Param('id', idParam) id: string,
    // An agent that does not count its connections may send no body at all.
    @Body(new ZodValidationPipe(HeartbeatRequest.optional(), 'body')) body: HeartbeatRequest | undefined,
    @Res({ passthrough: true }) reply: RetryAfterTarget,
  ): Promise<HeartbeatResponse> {
    this.limits.admitHeartbeat(id, reply);
    return this.backends.heartbeat(id, body?.active);
  }

  @Post(':id/drain')
  @HttpCode(200)
  drain(@Param('id', idParam) id: string): Promise<BackendApiView> {
    return this.backends.setState(id, 'draining');
  }

  @Post(':id/activate')
  @HttpCode(200)
  activate(@Param('id', idParam) id: string): Promise<BackendApiView> {
    return this.backends.setState(id, 'active');
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id', idParam) id: string): Promise<void> {
    await this.backends.remove(id);
  }
}
