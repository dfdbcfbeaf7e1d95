import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { HOSTILE_STRINGS } from '../simulator/hostile-values.ts';
import {
  api,
  DialnexaSimulator,
  KEYS,
  query,
  resetDatabase,
  type RunningService,
  serviceEnv,
  startService,
} from '../support/e2e-harness.js';

/**
 * The web console over plain HTTP, where a browser cannot go: identity from a trusted SSO proxy
 * (the test is the proxy, on 127.0.0.1), HTTPS as a proxy reports it, an untrusted peer's header,
 * the sign-in rate limit and what the log keeps of a typed key. The browser tests
 * (test/browser/) cover the pages themselves.
 */
const SSO_USERS = JSON.stringify({ 'ana@example.com': { name: 'ana', roles: ['approver'] } });

interface Answer {
  status: number;
  location: string | null;
  cookies: string[];
  text: string;
}

async function http(
  url: string,
  options: { method?: string; headers?: Record<string, string>; form?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  }
  const response = await fetch(url, { method: options.method ?? 'GET', headers, body, redirect: 'manual' });
  return {
    status: response.status,
    location: response.headers.get('location'),
    cookies: response.headers.getSetCookie(),
    text: await response.text(),
  };
}

const cookieValue = (answer: Answer, name: string) =>
  answer.cookies
    .find((c) => c.startsWith(`${name}=`))
    ?.split(';')[0]!
    .slice(name.length + 1);
const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)![1]!;

describe('web console over HTTP (e2e)', () => {
  let sim: DialnexaSimulator;
  let trusted: RunningService;
  let untrusted: RunningService;

  beforeAll(async () => {
    sim = new DialnexaSimulator({ settleMs: 100, rateLimit: { limit: 10_000, windowMs: 60_000 } });
    await sim.start();
    await resetDatabase();
    const sso = { CONSOLE_SSO_HEADER: 'X-Forwarded-Email', CONSOLE_SSO_USERS: SSO_USERS };
    trusted = await startService(
      serviceEnv(sim.url, {
        ...sso,
        CONSOLE_TRUSTED_PROXIES: '127.0.0.1,::1',
        APPROVALS_REQUIRED: '1',
        // the property test below sends a few hundred requests as one person
        API_RATE_LIMIT_PER_MINUTE: '100000',
      }),
    );
    untrusted = await startService(
      serviceEnv(sim.url, {
        ...sso,
        CONSOLE_TRUSTED_PROXIES: '192.0.2.10',
        API_RATE_LIMIT_PER_MINUTE: '6',
        API_RATE_LIMIT_BURST: '3',
      }),
    );
  });

  afterAll(async () => {
    await trusted?.stop();
    await untrusted?.stop();
    await sim?.stop();
  });

  /** Signs in through the SSO proxy's header; returns the session cookie pair. */
  async function ssoSignIn(
    base: string,
    extra: Record<string, string> = {},
  ): Promise<{ cookie: string; answer: Answer }> {
    const headers = { 'x-forwarded-email': 'Ana@Example.com', ...extra };
    const page = await http(`${base}/console/sign-in`, { headers });
    expect(page.text).toContain('Continue as ana');
    const preName = page.cookies[0]!.split('=')[0]!;
    const pre = `${preName}=${cookieValue(page, preName)!}`;
    const answer = await http(`${base}/console/sign-in/sso`, {
      method: 'POST',
      headers: { ...headers, cookie: pre },
      form: { _csrf: csrfOf(page.text) },
    });
    const session = answer.cookies.find((c) => c.includes('dnx_console_session='))!;
    return { cookie: session.split(';')[0]!, answer };
  }

  it('signs in the person a trusted proxy names, and audits their decision under their console name', async () => {
    const workflowId = sim.addWorkflow({ leads: 5, inTransitLeads: 0 });
    const created = await api(trusted.url).create({ workflowId, reason: 'approved through SSO' });
    const id = String(created.body['id']);

    const { cookie, answer } = await ssoSignIn(trusted.url);
    expect(answer).toMatchObject({ status: 303, location: '/console/teardowns' });
    const rows = await query<{ method: string }>(
      `SELECT method FROM console_session WHERE caller_name = 'ana'`,
    );
    expect(rows).toEqual([{ method: 'sso' }]);

    const detail = await http(`${trusted.url}/console/teardowns/${id}`, { headers: { cookie } });
    expect(detail.status).toBe(200);
    const approved = await http(`${trusted.url}/console/teardowns/${id}/approve`, {
      method: 'POST',
      headers: { cookie },
      form: { _csrf: csrfOf(detail.text), comment: 'fine by me' },
    });
    expect(approved).toMatchObject({ status: 303, location: `/console/teardowns/${id}` });
    await expect(
      query(
        `SELECT actor, details->>'comment' AS comment FROM audit_event WHERE type = 'teardown.approved' AND teardown_id = $1`,
        [id],
      ),
    ).resolves.toEqual([{ actor: 'ana', comment: 'fine by me' }]);
  });

  it('sets a __Host- cookie, Secure on Path=/, when the trusted proxy says the browser came over HTTPS', async () => {
    const { answer } = await ssoSignIn(trusted.url, { 'x-forwarded-proto': 'https' });
    const session = answer.cookies.find((c) => c.startsWith('__Host-dnx_console_session='))!;
    expect(session).toMatch(/; Secure$/);
    expect(session).toContain('; Path=/;');
    expect(session).toContain('; HttpOnly; SameSite=Strict');
    expect(session).toContain(`Max-Age=${480 * 60}`);
  });

  it('ignores the SSO header and X-Forwarded-Proto from a peer that is not a trusted proxy', async () => {
    const headers = { 'x-forwarded-email': 'ana@example.com', 'x-forwarded-proto': 'https' };
    const page = await http(`${untrusted.url}/console/sign-in`, { headers });
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('Continue as');
    expect(page.cookies.every((c) => !c.includes('Secure'))).toBe(true);
    const pre = `dnx_console_signin=${cookieValue(page, 'dnx_console_signin')!}`;
    const refused = await http(`${untrusted.url}/console/sign-in/sso`, {
      method: 'POST',
      headers: { ...headers, cookie: pre },
      form: { _csrf: csrfOf(page.text) },
    });
    expect(refused.status).toBe(401);
    expect(refused.cookies.some((c) => c.includes('dnx_console_session='))).toBe(false);
  });

  it('never logs a typed key, and rate-limits sign-in attempts', async () => {
    const written: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const statuses: number[] = [];
    try {
      for (let i = 0; i < 5; i += 1) {
        const page = await http(`${untrusted.url}/console/sign-in`);
        const pre = `dnx_console_signin=${cookieValue(page, 'dnx_console_signin')!}`;
        const attempt = await http(`${untrusted.url}/console/sign-in`, {
          method: 'POST',
          headers: { cookie: pre },
          form: { _csrf: csrfOf(page.text), apiKey: `${KEYS.approver}-typo-${i}` },
        });
        statuses.push(attempt.status);
      }
    } finally {
      spy.mockRestore();
    }
    expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
    expect(statuses.slice(3)).toEqual([429, 429]);
    expect(written.join('')).not.toContain(KEYS.approver);
  });

  it('answers the progress endpoint with 401 JSON, and pages with a redirect, without a session', async () => {
    const progress = await http(
      `${trusted.url}/console/teardowns/td_01JB6Z3K4V9Q2W8E5R7T1Y3X6M/progress.json`,
    );
    expect(progress.status).toBe(401);
    expect(JSON.parse(progress.text)).toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(http(`${trusted.url}/console/holds`)).resolves.toMatchObject({
      status: 303,
      location: '/console/sign-in',
    });
  });

  it('answers any hostile query, form or path with a page and a stable code, never a 5xx, and stores nothing it refused', async () => {
    const { cookie } = await ssoSignIn(trusted.url);
    const page = await http(`${trusted.url}/console/teardowns`, { headers: { cookie } });
    const csrf = csrfOf(page.text);
    const text = fc.oneof(
      fc.constantFrom(...Object.values(HOSTILE_STRINGS).map((v) => v.slice(0, 3000))),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.constantFrom('', ' ', '%', '%ED%A0%80', '\u0000', 'x'.repeat(5000)),
    );
    const route = fc.constantFrom(
      '/console/holds',
      '/console/restores',
      '/console/teardowns/td_01JB6Z3K4V9Q2W8E5R7T1Y3X6M/approve',
      '/console/teardowns/td_01JB6Z3K4V9Q2W8E5R7T1Y3X6M/reject',
    );
    const seen = new Set<number>();
    // a URL cannot carry a lone surrogate: a browser sends U+FFFD, as does this
    const q = (value: string) => encodeURIComponent(value.toWellFormed());
    await fc.assert(
      fc.asyncProperty(route, text, text, text, async (path, a, b, c) => {
        const query = await fetch(
          `${trusted.url}/console/teardowns?status=${q(a)}&workflowId=${q(b)}&requestedBy=${q(c)}`,
          { headers: { cookie } },
        );
        seen.add(query.status);
        expect(query.status).toBeLessThan(500);
        const detail = await fetch(`${trusted.url}/console/teardowns/${q(a)}`, {
          headers: { cookie },
        });
        expect(detail.status).toBeLessThan(500);
        // the form's fields as a browser would send them, with the session's token
        const posted = await http(`${trusted.url}${path}`, {
          method: 'POST',
          headers: { cookie },
          form: { _csrf: csrf, workflowId: a, reason: b, comment: c, teardownId: a, excludeLeadStatuses: c },
        });
        seen.add(posted.status);
        expect(posted.status).toBeLessThan(500);
        // a refusal names its stable code on the page
        expect(posted.status < 400 || /[A-Z_]{5,}/.test(posted.text)).toBe(true);
      }),
      { numRuns: 40 },
    );
    expect(seen.has(429)).toBe(false);
    expect([...seen].some((s) => s === 400 || s === 404 || s === 403)).toBe(true);
    // a hold is only placed from a valid form: none of these was one for a known workflow
    const holds = await query<{ reason: string }>('SELECT reason FROM legal_hold');
    for (const hold of holds) expect(hold.reason.length).toBeGreaterThanOrEqual(3);
  });

  it('answers a replayed cookie after sign-out, and an SSO session when the proxy names someone else, with the sign-in page, doing nothing', async () => {
    const workflowId = sim.addWorkflow({ leads: 2, inTransitLeads: 0 });
    const created = await api(trusted.url).create({ workflowId, reason: 'replay after sign-out' });
    const id = String(created.body['id']);
    const { cookie } = await ssoSignIn(trusted.url);
    const detail = await http(`${trusted.url}/console/teardowns/${id}`, { headers: { cookie } });
    const csrf = csrfOf(detail.text);

    // another person at this browser: the proxy names them, not ana
    for (const email of ['mallory@example.com']) {
      const other = await http(`${trusted.url}/console/teardowns/${id}/approve`, {
        method: 'POST',
        headers: { cookie, 'x-forwarded-email': email },
        form: { _csrf: csrf, comment: 'not ana' },
      });
      expect(other).toMatchObject({ status: 303, location: '/console/sign-in' });
    }

    const out = await http(`${trusted.url}/console/sign-out`, {
      method: 'POST',
      headers: { cookie },
      form: { _csrf: csrf },
    });
    expect(out).toMatchObject({ status: 303, location: '/console/sign-in' });
    expect(out.cookies.some((c) => c.startsWith('dnx_console_session=;') && c.includes('Max-Age=0'))).toBe(
      true,
    );
    const replayed = await http(`${trusted.url}/console/teardowns/${id}/approve`, {
      method: 'POST',
      headers: { cookie },
      form: { _csrf: csrf, comment: 'replayed' },
    });
    expect(replayed).toMatchObject({ status: 303, location: '/console/sign-in' });
    await expect(
      query(`SELECT 1 FROM audit_event WHERE type = 'teardown.approved' AND teardown_id = $1`, [id]),
    ).resolves.toEqual([]);
  });

  it('sends its strict CSP and no-store on every console answer: pages, redirects, refusals, 404s and 413s', async () => {
    const { cookie } = await ssoSignIn(trusted.url);
    const answers = await Promise.all([
      fetch(`${trusted.url}/console/sign-in`),
      fetch(`${trusted.url}/console`, { redirect: 'manual' }),
      fetch(`${trusted.url}/console/holds`, { redirect: 'manual' }),
      fetch(`${trusted.url}/console/no-such-page`, { headers: { cookie } }),
      fetch(`${trusted.url}/console/teardowns/nope`, { headers: { cookie } }),
      fetch(`${trusted.url}/console/holds`, { method: 'POST', headers: { cookie } }),
      fetch(`${trusted.url}/console/holds`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: `reason=${'x'.repeat(2_000_000)}`,
      }),
      fetch(`${trusted.url}/console/holds`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'text/plain' },
        body: '{"reason": "a text/plain form"}',
      }),
    ]);
    for (const answer of answers) {
      expect(answer.status).toBeLessThan(500);
      expect(answer.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(answer.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    }
    expect(answers.map((a) => a.status)).toEqual([200, 303, 303, 404, 404, 403, 413, 415]);
  });

  it('keeps the REST API closed to forms: a cross-site form post to /v1 is refused and creates nothing, console cookie or not', async () => {
    const { cookie } = await ssoSignIn(trusted.url);
    const workflowId = sim.addWorkflow({ leads: 1, inTransitLeads: 0 });
    const bodies: [string, string][] = [
      ['application/x-www-form-urlencoded', `workflowId=${workflowId}&reason=a+cross-site+form`],
      ['text/plain', `{"workflowId": "${workflowId}", "reason": "a text/plain form", "x": "="}`],
      [
        'multipart/form-data; boundary=b',
        `--b\r\nContent-Disposition: form-data; name="workflowId"\r\n\r\n${workflowId}\r\n--b--\r\n`,
      ],
    ];
    for (const [type, body] of bodies) {
      for (const headers of [
        { cookie, 'content-type': type },
        { cookie, 'content-type': type, authorization: `Bearer ${KEYS.requester}` },
      ]) {
        const answer = await fetch(`${trusted.url}/v1/teardowns`, { method: 'POST', headers, body });
        expect([400, 401, 415]).toContain(answer.status);
        expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      }
    }
    await expect(query('SELECT 1 FROM teardown WHERE workflow_id = $1', [workflowId])).resolves.toEqual([]);
  });
});
