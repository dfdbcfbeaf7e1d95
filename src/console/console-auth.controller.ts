import { Controller, Get, Logger, Post, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../auth/api-key.guard.js';
import { ApiKeyVerifier } from '../auth/api-key.verifier.js';
import { ApiRateLimiter } from '../auth/api-rate-limiter.js';
import type { Caller } from '../auth/caller.js';
import { DomainError } from '../common/domain-error.js';
import { clientNetworkOf } from './client-address.js';
import { ConsoleAuthGuard } from './console-auth.guard.js';
import {
  clearSessionCookie,
  preSessionTokenOf,
  setPreSessionCookie,
  setSessionCookie,
  sessionTokenOf,
} from './console-cookies.js';
import { assertFormPost } from './console-csrf.js';
import { ConsoleExceptionFilter } from './console-exception.filter.js';
import { ConsoleOpen, type ConsoleRequest } from './console-request.js';
import { randomToken, type SignInMethod } from './console-session.js';
import { ConsoleSessionService } from './console-session.service.js';
import { ConsoleViews } from './console-views.js';
import { SsoIdentity } from './sso-identity.js';

/**
 * Signing in and out of the console. The key typed into the form is checked by the REST API's
 * own ApiKeyVerifier and is never logged nor stored; sign-in attempts are rate limited per client
 * address by the API's rate limiter.
 */
@Controller('console')
@Public()
@ApiExcludeController()
@UseGuards(ConsoleAuthGuard)
@UseFilters(ConsoleExceptionFilter)
export class ConsoleAuthController {
  private readonly logger = new Logger(ConsoleAuthController.name);

  constructor(
    private readonly sessions: ConsoleSessionService,
    private readonly verifier: ApiKeyVerifier,
    private readonly rateLimiter: ApiRateLimiter,
    private readonly sso: SsoIdentity,
    private readonly views: ConsoleViews,
  ) {}

  @Get()
  @ConsoleOpen()
  async home(@Req() request: ConsoleRequest, @Res() response: Response): Promise<void> {
    const session = await this.usableSession(request);
    response.redirect(303, session ? '/console/teardowns' : '/console/sign-in');
  }

  @Get('sign-in')
  @ConsoleOpen()
  async signInPage(@Req() request: ConsoleRequest, @Res() response: Response): Promise<void> {
    if (await this.usableSession(request)) {
      response.redirect(303, '/console/teardowns');
      return;
    }
    this.renderSignIn(request, response, null, 200);
  }

  @Post('sign-in')
  @ConsoleOpen()
  async signIn(@Req() request: ConsoleRequest, @Res() response: Response): Promise<void> {
    assertFormPost(request, preSessionTokenOf(request));
    // per client network (an IPv6 client holds a whole /64 of addresses)
    this.rateLimiter.take(`console-sign-in@${clientNetworkOf(request.ip)}`);
    const key = (request.body as Record<string, unknown>)['apiKey'];
    const caller = typeof key === 'string' ? this.verifier.callerOf(key.trim()) : null;
    if (!caller) {
      this.logger.warn(`console sign-in refused from ${request.ip ?? 'unknown'}: not a valid API key`);
      this.renderSignIn(request, response, 'That API key is not valid.', 401);
      return;
    }
    await this.startSession(request, response, caller, 'api_key');
  }

  @Post('sign-in/sso')
  @ConsoleOpen()
  async signInSso(@Req() request: ConsoleRequest, @Res() response: Response): Promise<void> {
    assertFormPost(request, preSessionTokenOf(request));
    const outcome = this.sso.of(request);
    if (outcome.kind !== 'caller') {
      throw new DomainError(
        outcome.kind === 'unknown' ? 'FORBIDDEN' : 'UNAUTHENTICATED',
        outcome.kind === 'unknown'
          ? 'your SSO identity has no console access (CONSOLE_SSO_USERS)'
          : 'no SSO identity came with this request',
      );
    }
    await this.startSession(request, response, outcome.caller, 'sso');
  }

  @Post('sign-out')
  async signOut(@Req() request: ConsoleRequest, @Res() response: Response): Promise<void> {
    await this.sessions.signOut(request.consoleSession!);
    clearSessionCookie(request, response);
    response.redirect(303, '/console/sign-in');
  }

  /** The browser's session as ConsoleAuthGuard would let it through, or null. */
  private async usableSession(request: ConsoleRequest) {
    const session = await this.sessions.resolve(sessionTokenOf(request));
    return session && !this.sso.contradicts(session, request) ? session : null;
  }

  private async startSession(
    request: ConsoleRequest,
    response: Response,
    caller: Caller,
    method: SignInMethod,
  ): Promise<void> {
    // a session this browser already had ends here: one browser, one session
    const previous = await this.sessions.resolve(sessionTokenOf(request));
    if (previous) await this.sessions.signOut(previous);
    const { token } = await this.sessions.signIn(caller, method);
    this.logger.log(`console sign-in: ${caller.name} (${method})`);
    setSessionCookie(request, response, token, this.sessions.ttlSeconds);
    response.redirect(303, '/console/teardowns');
  }

  private renderSignIn(
    request: ConsoleRequest,
    response: Response,
    error: string | null,
    status: number,
  ): void {
    // a fresh pre-session token each time the form is shown, bound to this browser by its cookie
    const token = randomToken();
    setPreSessionCookie(request, response, token);
    const sso = this.sso.of(request);
    this.views.render(
      response,
      'sign-in',
      { title: 'Sign in', nav: 'none', caller: null, csrfToken: token },
      {
        error,
        ssoEnabled: this.sso.enabled,
        ssoCaller: sso.kind === 'caller' ? sso : null,
        ssoUnknown: sso.kind === 'unknown' ? sso.identity : null,
      },
      status,
    );
  }
}
