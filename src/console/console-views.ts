import { Injectable } from '@nestjs/common';
import { Eta } from 'eta';
import { fileURLToPath } from 'node:url';
import type { Response } from 'express';
import type { Caller } from '../auth/caller.js';

/** Beside this file in src/ and, copied by `nest build` (nest-cli.json assets), in dist/. */
export const VIEWS_DIR = fileURLToPath(new URL('./views/', import.meta.url));
export const ASSETS_DIR = fileURLToPath(new URL('./assets/', import.meta.url));

export type NavItem = 'teardowns' | 'approvals' | 'holds' | 'audit' | 'none';

/** What every page's layout shows: who is signed in, and the token its forms carry. */
export interface PageFrame {
  title: string;
  nav: NavItem;
  caller: Caller | null;
  csrfToken: string;
  /** Reloads the page every so many seconds (a restore running): works without the script. */
  refreshSeconds?: number;
}

/**
 * Renders the console's pages with Eta, which escapes every `<%= %>` (autoEscape): caller-supplied
 * text (reasons, comments, upstream names) reaches the page as text. The templates use no raw
 * output (`<%~`) except for the layout's body, itself rendered with escaping.
 */
@Injectable()
export class ConsoleViews {
  private readonly eta = new Eta({ views: VIEWS_DIR, autoEscape: true, autoTrim: false, cache: true });

  render(
    response: Response,
    view: string,
    frame: PageFrame,
    data: Record<string, unknown>,
    status = 200,
  ): void {
    const html = this.eta.render(view, { ...data, frame });
    response.status(status).type('text/html; charset=utf-8').send(html);
  }
}
