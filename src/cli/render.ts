import type { Schemas, TeardownResource } from './api/api.client.js';
import { printable } from './output.js';

/** Human renderings of the API's resources (with `--json` the resources are printed as served). */

export function leadsText(teardown: TeardownResource): string {
  const { leadsExported, leadsTotal } = teardown.progress;
  return `${leadsExported}/${leadsTotal ?? '?'} leads exported`;
}

/** The upstream requests sent, and the service's estimate of what is left, once it made one. */
export function requestsText(teardown: TeardownResource): string {
  const { upstreamRequests, upstreamRequestsLeft, secondsLeft } = teardown.progress;
  const left =
    upstreamRequestsLeft !== null && upstreamRequestsLeft > 0
      ? `, ~${upstreamRequestsLeft} to go${secondsLeft !== null ? ` (~${durationText(secondsLeft)})` : ''}`
      : '';
  return `${upstreamRequests} requests${left}`;
}

function durationText(seconds: number): string {
  if (seconds < 90) return `${Math.ceil(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export function teardownSummary(teardown: TeardownResource): string {
  const flags = teardown.dryRun ? ' (dry run)' : '';
  return `${teardown.id}  ${printable(teardown.workflowId)}  ${teardown.status}${flags}`;
}

export function teardownDetails(teardown: TeardownResource): string {
  const lines = [
    teardownSummary(teardown),
    `  requested by ${printable(teardown.requestedBy)} at ${teardown.createdAt}` +
      (teardown.ticket ? `, ticket ${printable(teardown.ticket)}` : ''),
    `  reason: ${printable(teardown.reason)}`,
    `  progress: step ${teardown.progress.step}, ${leadsText(teardown)}, ${requestsText(teardown)}`,
  ];
  if (teardown.approvalsRequired > 0 || teardown.approvals.length > 0) {
    const decided = teardown.approvals
      .map(
        (a) => `${a.decision} by ${printable(a.approver)}${a.comment ? ` ("${printable(a.comment)}")` : ''}`,
      )
      .join('; ');
    lines.push(`  approvals (${teardown.approvalsRequired} required): ${decided || 'none yet'}`);
  }
  if (teardown.archive) {
    const { counts } = teardown.archive;
    lines.push(
      `  archive: s3://${printable(teardown.archive.bucket)}/${printable(teardown.archive.manifestKey)}`,
      `    sha256 ${teardown.archive.manifestSha256}; ${counts.nodes} nodes, ${counts.edges} edges, ${counts.leads} leads`,
    );
    if (teardown.archive.final)
      lines.push(`    final snapshot: ${printable(teardown.archive.final.manifestKey)}`);
  }
  if (teardown.error) {
    const { code, step, retryable, message } = teardown.error;
    lines.push(`  error ${code} in step ${step}${retryable ? ' (retryable)' : ''}: ${printable(message)}`);
  }
  if (teardown.completedAt) lines.push(`  finished at ${teardown.completedAt}`);
  return lines.join('\n');
}

export function teardownTable(teardowns: TeardownResource[]): string {
  if (teardowns.length === 0) return 'no teardowns';
  return table(
    ['ID', 'WORKFLOW', 'STATUS', 'STEP', 'LEADS', 'REQUESTED BY', 'CREATED'],
    teardowns.map((t) => [
      t.id,
      printable(t.workflowId),
      t.dryRun ? `${t.status} (dry run)` : t.status,
      t.progress.step,
      `${t.progress.leadsExported}/${t.progress.leadsTotal ?? '?'}`,
      printable(t.requestedBy),
      t.createdAt,
    ]),
  );
}

export function holdTable(holds: Array<Schemas['LegalHold']>): string {
  if (holds.length === 0) return 'no holds';
  return table(
    ['ID', 'WORKFLOW', 'PLACED BY', 'PLACED AT', 'LIFTED', 'REASON'],
    holds.map((h) => [
      h.id,
      printable(h.workflowId),
      printable(h.placedBy),
      h.placedAt,
      h.liftedAt ? `${h.liftedAt} by ${printable(h.liftedBy ?? '?')}` : 'in force',
      printable(h.reason),
    ]),
  );
}

export function holdDetails(hold: Schemas['LegalHold']): string {
  const state = hold.liftedAt
    ? `lifted at ${hold.liftedAt} by ${printable(hold.liftedBy ?? '?')}`
    : 'in force';
  return `${hold.id}  ${printable(hold.workflowId)}  ${state}\n  placed by ${printable(hold.placedBy)} at ${hold.placedAt}\n  reason: ${printable(hold.reason)}`;
}

export function verificationText(report: Schemas['AuditVerification']): string {
  const anchors = report.anchors;
  const anchorLine = `  anchors: ${anchors.checked} checked, ${anchors.unanchoredEvents} events not anchored yet (oldest ${anchors.lagSeconds} s)`;
  const failure = anchors.lastFailure
    ? `\n  last anchoring failure at ${anchors.lastFailure.at}: ${printable(anchors.lastFailure.reason)}`
    : '';
  if (report.ok)
    return `audit chain OK: ${report.events} events, head ${report.head}\n${anchorLine}${failure}`;
  return (
    `audit chain FAILED verification at event ${report.firstBad.seq}${report.firstBad.id ? ` (${report.firstBad.id})` : ''}: ` +
    `${printable(report.firstBad.reason)}\n  ${report.events} events walked\n${anchorLine}${failure}`
  );
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
