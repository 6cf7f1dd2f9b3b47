import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { problem, ProblemError } from '@lb/runtime';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RegistryConfig } from '../config';
import { REGISTRY_CONFIG } from '../tokens';
import { IS_PUBLIC } from './public.decorator';
import { bearerToken, tokenMatches } from './token-matches';

/**
 * Installed globally: every route needs `Authorization: Bearer <REGISTRY_TOKEN>` unless marked
 * @Public(). Missing credentials are 401 with a challenge, wrong ones 403.
 */
@Injectable()
export class BearerTokenGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(REGISTRY_CONFIG) private readonly config: RegistryConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const http = context.switchToHttp();
    const token = bearerToken(http.getRequest<FastifyRequest>().headers.authorization);
    if (token === undefined) {
      void http.getResponse<FastifyReply>().header('www-authenticate', 'Bearer realm="registry"');
      throw new ProblemError(problem(401, 'unauthorized', 'this call needs an Authorization: Bearer <token> header'));
    }
    if (!tokenMatches(token, this.config.REGISTRY_TOKEN)) {
      throw new ProblemError(problem(403, 'forbidden', 'the bearer token is not valid for this registry'));
    }
    return true;
  }
}
