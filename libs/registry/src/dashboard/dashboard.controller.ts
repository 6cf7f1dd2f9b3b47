import { Controller, Get, Header, Res } from '@nestjs/common';
import { problem, ProblemError } from '@lb/runtime';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/public.decorator';
import { DashboardHub } from './dashboard-hub.service';
import { DASHBOARD_CSS } from './page/dashboard-css';
import { DASHBOARD_HTML } from './page/dashboard-html';
import { DASHBOARD_SCRIPT } from './page/dashboard-script';

/**
 * GET /dashboard: one page, its stylesheet and script (shipped inside the app: no CDN, nothing
 * fetched from elsewhere), and /dashboard/events, the live feed. Open like every read; the page's
 * drain and activate buttons call the API with the token the user types in.
 */
@Public()
@Controller('dashboard')
export class DashboardController {
  constructor(private readonly hub: DashboardHub) {}

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-cache')
  // Only this page's own script and stylesheet run, and it talks only to this registry.
  @Header(
    'content-security-policy',
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  )
  @Header('referrer-policy', 'no-referrer')
  @Header('x-content-type-options', 'nosniff')
  page(): string {
    return DASHBOARD_HTML;
  }

  @Get('app.css')
  @Header('content-type', 'text/css; charset=utf-8')
  @Header('cache-control', 'no-cache')
  @Header('x-content-type-options', 'nosniff')
  stylesheet(): string {
    return DASHBOARD_CSS;
  }

  @Get('app.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('cache-control', 'no-cache')
  @Header('x-content-type-options', 'nosniff')
  script(): string {
    return DASHBOARD_SCRIPT;
  }

  /** Server-sent events: `snapshot` (at once, then every second), `membership` as it happens, `trouble`. */
  @Get('events')
  events(@Res() reply: FastifyReply): void {
    if (!this.hub.accepting) throw new ProblemError(problem(503, 'dashboard-busy', 'too many dashboards are open on this registry; try again later'));
    reply.hijack(); // the hub owns the response from here: Fastify neither sends nor times it
    this.hub.attach(reply.raw);
  }
}
