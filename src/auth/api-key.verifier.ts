import { Inject, Injectable } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AppConfig } from '../config/app.config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { Caller } from './caller.js';

/** An API key as callers may send it: printable ASCII, no spaces, at most 512 characters. */
export const API_KEY_PATTERN = /^[\x21-\x7e]{1,512}$/;

/**
 * The one check of an API key, for the REST API's bearer tokens and the console's sign-in form:
 * compared as SHA-256 digests in constant time against every configured key, so neither the key
 * nor its position in API_KEYS leaks through timing.
 */
@Injectable()
export class ApiKeyVerifier {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** The caller the key belongs to, or null when it is no configured key. */
  callerOf(key: string): Caller | null {
    if (!API_KEY_PATTERN.test(key)) return null;
    const presented = createHash('sha256').update(key, 'utf8').digest();
    let found: AppConfig['apiKeys'][number] | undefined;
    for (const candidate of this.config.apiKeys) {
      // no early exit: every configured key is compared
      if (timingSafeEqual(presented, candidate.keySha256) && !found) found = candidate;
    }
    return found ? { name: found.name, roles: found.roles } : null;
  }
}
