import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import {
  api,
  DialnexaSimulator,
  KEYS,
  query,
  resetDatabase,
  serviceEnv,
  ServiceProcess,
} from '../support/e2e-harness.js';

/**
 * The web console in a real headless Chromium (Debian's, driven by playwright-core): the built
 * service (dist/main.js, so the templates and assets `nest build` ships are the ones served),
 * against the DialNexa simulator, PostgreSQL and the S3 store. Each page
 * under test leaves a screenshot in test-results/console/ for a person to look at.
 */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const SHOTS = 'test-results/console';
const XSS = `<script>window.__xss = 1</script>"><img src=x onerror="window.__xss = 2">`;

describe('web console (browser)', () => {
  let sim: DialnexaSimulator;
  let service: ServiceProcess;
  let client: ReturnType<typeof api>;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  /** The teardown the approval test runs to completion (the restore test restores it). */
  let completedId = '';

  const upstreamMutations = (workflowId: string) =>
    sim.requests.filter((r) => r.path.includes(workflowId) && r.method !== 'GET');

  /** A fresh browser profile signed in with `key`; fails the test on any dialog (an XSS alert). */
  async function signedIn(key: string): Promise<Page> {
    const context = await browser.newContext({ baseURL: service.url });
    contexts.push(context);
    const page = await context.newPage();
    page.on('dialog', (dialog) => {
      throw new Error(`unexpected dialog: ${dialog.message()}`);
    });
    await page.goto('/console');
    expect(page.url()).toMatch(/\/console\/sign-in$/);
    await page.getByLabel('API key', { exact: true }).fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/console\/teardowns$/);
    return page;
  }

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });

  async function createTeardown(
    body: Record<string, unknown>,
    key: string = KEYS.requester,
  ): Promise<string> {
    const created = await client.create(body, { key });
    expect(created.status).toBe(202);
    return String(created.body['id']);
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    sim = new DialnexaSimulator({ settleMs: 300, rateLimit: { limit: 10_000, windowMs: 60_000 } });
    await sim.start();
    await resetDatabase();
    service = await new ServiceProcess(serviceEnv(sim.url, { APPROVALS_REQUIRED: '1' }), 'console').start();
    client = api(service.url);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await service?.stop();
    await sim?.stop();
  });

  it('signs in with an API key into a session cookie, and sends the strict security headers', async () => {
    const context = await browser.newContext({ baseURL: service.url });
    contexts.push(context);
    const page = await context.newPage();
    const answer = await page.goto('/console/sign-in');
    expect(answer?.headers()).toMatchObject({
      'content-security-policy': expect.stringContaining("script-src 'self'"),
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    });
    await shot(page, 'sign-in');
    await page.getByLabel('API key', { exact: true }).fill('not-a-key-of-this-service');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('not valid');

    // by keyboard alone: the skip link first, then the key field, Enter submits
    await page.keyboard.press('Tab');
    await expect(page.locator(':focus').textContent()).resolves.toBe('Skip to content');
    await page.keyboard.press('Tab');
    await expect(page.locator(':focus').getAttribute('id')).resolves.toBe('apiKey');
    await page.keyboard.type(KEYS.auditor);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/teardowns$/);
    await expect(page.getByTestId('caller-name').textContent()).resolves.toBe('compliance-audit');
    const [cookie] = (await context.cookies()).filter((c) => c.name === 'dnx_console_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' });
    // the table keeps a digest of the token, never the token
    const rows = await query<{ token_sha256: string }>('SELECT token_sha256 FROM console_session');
    expect(rows.map((r) => r.token_sha256)).not.toContain(cookie!.value);
  });

  it('lets an approver approve a teardown that waits for approval, and shows it proceed to the end', async () => {
    const workflowId = sim.addWorkflow({ leads: 40, inTransitLeads: 0 });
    // a dry run first: its archive is what the approver can check before deciding
    const dryRun = await createTeardown({ workflowId, reason: 'dry run first', dryRun: true });
    await client.call('POST', `/v1/teardowns/${dryRun}/approve`, { key: KEYS.admin, body: {} });
    await expect(client.waitForEnd(dryRun)).resolves.toMatchObject({ status: 'completed' });
    const id = await createTeardown({
      workflowId,
      reason: 'GDPR erasure, ticket PRIV-1042',
      ticket: 'PRIV-1042',
    });
    completedId = id;
    const page = await signedIn(KEYS.approver);

    await page.getByRole('link', { name: 'Approvals' }).click();
    await shot(page, 'approvals');
    await page.getByRole('link', { name: id }).click();
    await expect(page.getByTestId('live-counts').textContent()).resolves.toContain('40 leads');
    await expect(page.getByTestId('earlier-archives').textContent()).resolves.toContain(
      `${dryRun} (dry run)`,
    );
    await shot(page, 'approve');
    await page.getByLabel('Comment').fill('checked PRIV-1042 with legal');
    await page.getByRole('button', { name: 'Approve' }).click();
    // the progress script reloads the page as the status changes, up to the end
    await page.getByTestId('status').filter({ hasText: 'Completed' }).waitFor({ timeout: 60_000 });

    const events = await query<{ type: string; actor: string; details: Record<string, unknown> }>(
      'SELECT type, actor, details FROM audit_event WHERE teardown_id = $1 ORDER BY seq',
      [id],
    );
    expect(events[1]).toMatchObject({
      type: 'teardown.approved',
      actor: 'approver-1',
      details: { comment: 'checked PRIV-1042 with legal' },
    });
    expect(events.map((e) => e.type)).toContain('workflow.deleted');

    // an admin sees the whole page: manifest objects, final snapshot, verified receipt
    const admin = await signedIn(KEYS.admin);
    await admin.goto(`/console/teardowns/${id}`);
    await expect(admin.getByTestId('receipt-result').textContent()).resolves.toBe('Verified');
    await expect(admin.getByTestId('archive-counts').textContent()).resolves.toContain('40 leads');
    await shot(admin, 'teardown');
  });

  it('lets an admin dry-run a restore, read its report, then restore as a new draft and see the id map', async () => {
    expect(completedId).not.toBe('');
    const page = await signedIn(KEYS.admin);
    await page.goto(`/console/teardowns/${completedId}`);
    await page.getByRole('link', { name: 'Restores of this teardown' }).click();
    await page.getByLabel('Reason', { exact: true }).fill('restore drill, ticket OPS-77');
    await page.getByRole('button', { name: 'Dry run' }).click();
    // the page reloads itself (meta refresh) until the dry run ends
    await page.getByTestId('restore-status').filter({ hasText: 'completed' }).waitFor({ timeout: 60_000 });
    // the archive's 40 leads: those that go up, and those not re-enrolled (status removed)
    const leadsRow = page.getByTestId('restore-report').locator('tbody tr').nth(3);
    const wouldCreate = Number(await leadsRow.locator('td').nth(1).textContent());
    await expect(page.locator('li', { hasText: 'excludedLeads' }).textContent()).resolves.toContain(
      `(${40 - wouldCreate})`,
    );
    await expect(page.getByTestId('new-workflow').textContent()).resolves.toContain(
      'a dry run creates nothing',
    );
    await shot(page, 'restore-dry-run');

    await page.getByRole('button', { name: 'Restore as a new draft' }).click();
    await page.getByTestId('restore-status').filter({ hasText: 'completed' }).waitFor({ timeout: 60_000 });
    await expect(page.getByTestId('id-map-nodes').locator('tbody tr').count()).resolves.toBe(5);
    await expect(page.getByTestId('id-map-leads').locator('tbody tr').count()).resolves.toBe(wouldCreate);
    await expect(page.getByTestId('new-workflow').textContent()).resolves.toMatch(/\S/);
    await shot(page, 'restore');
    const events = await query<{ type: string; actor: string }>(
      `SELECT type, actor FROM audit_event WHERE teardown_id = $1 AND type LIKE 'restore.%' ORDER BY seq`,
      [completedId],
    );
    expect(events).toContainEqual({ type: 'restore.requested', actor: 'ops-admin' });
    expect(events).toContainEqual({ type: 'restore.completed', actor: 'system' });
  });

  it('disables the buttons on a requester’s own teardown, with the reason, and refuses a forged decision', async () => {
    const workflowId = sim.addWorkflow({ leads: 5 });
    const id = await createTeardown({ workflowId, reason: 'admin asks for its own' }, KEYS.admin);
    const page = await signedIn(KEYS.admin);
    await page.goto(`/console/teardowns/${id}`);

    await expect(page.getByRole('button', { name: 'Approve' }).isDisabled()).resolves.toBe(true);
    await expect(page.getByRole('button', { name: 'Reject' }).isDisabled()).resolves.toBe(true);
    await expect(page.getByTestId('decision-reason').textContent()).resolves.toContain(
      'You requested this teardown',
    );
    await shot(page, 'own-teardown');

    // posting the form anyway (with a valid token) is refused by the approval rules themselves
    const csrf = await page.locator('input[name="_csrf"]').first().inputValue();
    const forged = await page.request.post(`/console/teardowns/${id}/approve`, {
      form: { _csrf: csrf, comment: 'approving my own' },
    });
    expect(forged.status()).toBe(403);
    await expect(forged.text()).resolves.toContain('APPROVAL_NOT_ALLOWED');
    await expect(query('SELECT 1 FROM approval WHERE teardown_id = $1', [id])).resolves.toEqual([]);
    await client.call('POST', `/v1/teardowns/${id}/reject`, { key: KEYS.approver, body: {} });
  });

  it('lets an admin place a hold, shows the teardown it stops, and the teardown stops before its cancel', async () => {
    const workflowId = sim.addWorkflow({ leads: 20, inTransitLeads: 0 });
    const id = await createTeardown({ workflowId, reason: 'to be held' });
    const page = await signedIn(KEYS.admin);

    await page.getByRole('link', { name: 'Legal holds' }).click();
    await page.getByLabel('Workflow id', { exact: true }).fill(workflowId);
    await page.getByLabel('Reason', { exact: true }).fill('litigation hold LIT-7');
    await page.getByRole('button', { name: 'Place hold' }).click();
    await expect(page.getByTestId('stopped').textContent()).resolves.toContain(id);
    await shot(page, 'hold-placed');

    await client.call('POST', `/v1/teardowns/${id}/approve`, { key: KEYS.approver, body: {} });
    await expect(client.waitForEnd(id)).resolves.toMatchObject({
      status: 'failed',
      error: { code: 'WORKFLOW_ON_HOLD' },
    });
    expect(upstreamMutations(workflowId)).toEqual([]);
    await page.goto(`/console/teardowns/${id}`);
    await expect(page.getByTestId('error-code').textContent()).resolves.toBe('WORKFLOW_ON_HOLD');
    await page.goto('/console/holds');
    await shot(page, 'holds');
    await page.getByRole('button', { name: /^Lift hold/ }).click();
    await expect(
      query('SELECT lifted_by FROM legal_hold WHERE workflow_id = $1', [workflowId]),
    ).resolves.toEqual([{ lifted_by: 'ops-admin' }]);
  });

  it('refuses a form post without its CSRF token, or from another site, with 403 CSRF_REJECTED and changes nothing', async () => {
    const page = await signedIn(KEYS.admin);
    const workflowId = sim.addWorkflow({ leads: 1 });
    const noToken = await page.request.post('/console/holds', { form: { workflowId, reason: 'no token' } });
    expect(noToken.status()).toBe(403);
    await expect(noToken.text()).resolves.toContain('CSRF_REJECTED');

    await page.goto('/console/holds');
    const csrf = await page.locator('input[name="_csrf"]').first().inputValue();
    const crossSite = await page.request.post('/console/holds', {
      form: { _csrf: csrf, workflowId, reason: 'from elsewhere' },
      headers: { origin: 'https://evil.example' },
    });
    expect(crossSite.status()).toBe(403);
    await expect(crossSite.text()).resolves.toContain('CSRF_REJECTED');

    // a plain HTTP client without the session: sent to sign in
    const anonymous = await fetch(`${service.url}/console/holds`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ workflowId, reason: 'anonymous' }).toString(),
      redirect: 'manual',
    });
    expect(anonymous.status).toBe(303);
    await expect(query('SELECT 1 FROM legal_hold WHERE workflow_id = $1', [workflowId])).resolves.toEqual([]);
    await page.goto(`/console/teardowns/td_00000000000000000000000000`);
    await shot(page, 'error');
  });

  it('renders a reason with markup as inert text', async () => {
    const workflowId = sim.addWorkflow({ leads: 3 });
    const id = await createTeardown({ workflowId, reason: XSS });
    const page = await signedIn(KEYS.approver);
    await page.goto(`/console/teardowns/${id}`);
    await expect(page.getByTestId('reason').textContent()).resolves.toBe(XSS);
    await expect(page.locator('img[src="x"]').count()).resolves.toBe(0);
    await expect(page.evaluate(() => (globalThis as { __xss?: number }).__xss)).resolves.toBeUndefined();
    await page.goto('/console/teardowns');
    await expect(page.evaluate(() => (globalThis as { __xss?: number }).__xss)).resolves.toBeUndefined();
    await expect(page.locator('td.reason').first().textContent()).resolves.toContain('<script>');
    await client.call('POST', `/v1/teardowns/${id}/reject`, { key: KEYS.approver, body: { comment: XSS } });
    await page.goto(`/console/teardowns/${id}`);
    await expect(page.locator('q').first().textContent()).resolves.toBe(XSS);
    await expect(page.evaluate(() => (globalThis as { __xss?: number }).__xss)).resolves.toBeUndefined();
  });

  it('lists teardowns with filters and status badges in words, and shows the audit chain verified', async () => {
    const page = await signedIn(KEYS.auditor);
    await shot(page, 'teardowns');
    await page.getByLabel('Status').selectOption('completed');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/status=completed/);
    const badges = await page.locator('tbody .badge').allTextContents();
    expect(badges.length).toBeGreaterThan(0);
    expect(new Set(badges)).toEqual(new Set(['Completed']));
    await page.getByLabel('Requested by').fill('nobody-of-ours');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect(page.getByText('No teardown matches.').count()).resolves.toBe(1);

    await page.getByRole('link', { name: 'Audit chain' }).click();
    await expect(page.getByTestId('chain-result').textContent()).resolves.toBe('Intact');
    await shot(page, 'audit');
  });

  it('revokes the session at sign-out: the old cookie replayed is sent to sign in', async () => {
    const page = await signedIn(KEYS.auditor);
    const cookies = await page.context().cookies();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/console\/sign-in$/);

    const replay = await browser.newContext({ baseURL: service.url });
    contexts.push(replay);
    await replay.addCookies(cookies);
    const again = await replay.newPage();
    await again.goto('/console/teardowns');
    expect(again.url()).toMatch(/\/console\/sign-in$/);
    const revoked = await query<{ revoked_at: Date | null }>(
      `SELECT revoked_at FROM console_session WHERE caller_name = 'compliance-audit' ORDER BY created_at DESC LIMIT 1`,
    );
    expect(revoked[0]!.revoked_at).not.toBeNull();
  });
});
