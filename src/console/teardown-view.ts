import type { AuditEvent } from '../audit/audit-event.js';
import { type Caller, hasRole } from '../auth/caller.js';
import type { TeardownResource } from '../teardown/teardown.presenter.js';

/**
 * What the console's teardown pages show, computed from the teardown resource and its audit
 * events: plain data, no I/O, so that each rule is tested on its own.
 */

export type BadgeTone = 'done' | 'running' | 'waiting' | 'bad' | 'neutral';

/** Badges say their status in words; the colour only repeats it. */
export const STATUS_BADGES: Record<TeardownResource['status'], { label: string; tone: BadgeTone }> = {
  awaiting_approval: { label: 'Awaiting approval', tone: 'waiting' },
  queued: { label: 'Queued', tone: 'running' },
  exporting: { label: 'Exporting', tone: 'running' },
  cancelling: { label: 'Cancelling', tone: 'running' },
  deleting: { label: 'Deleting', tone: 'running' },
  completed: { label: 'Completed', tone: 'done' },
  failed: { label: 'Failed', tone: 'bad' },
  rejected: { label: 'Rejected', tone: 'neutral' },
  aborted: { label: 'Aborted', tone: 'neutral' },
};

export interface ProgressView {
  status: TeardownResource['status'];
  statusLabel: string;
  step: string;
  finished: boolean;
  leadsExported: number;
  leadsTotal: number | null;
  /** 0-100, or null while the total is unknown. */
  leadsPercent: number | null;
  upstreamRequests: number;
  upstreamRequestsLeft: number | null;
  requestsPercent: number | null;
  /** "about 3 min left", or null without an estimate. */
  etaText: string | null;
}

const FINISHED = new Set(['completed', 'failed', 'rejected', 'aborted']);

export function progressOf(teardown: TeardownResource): ProgressView {
  const p = teardown.progress;
  const finished = FINISHED.has(teardown.status);
  const leadsPercent =
    p.leadsTotal === null ? null : p.leadsTotal === 0 ? 100 : percent(p.leadsExported, p.leadsTotal);
  const requestsPercent =
    p.upstreamRequestsLeft === null
      ? null
      : percent(p.upstreamRequests, p.upstreamRequests + p.upstreamRequestsLeft);
  return {
    status: teardown.status,
    statusLabel: STATUS_BADGES[teardown.status].label,
    step: p.step,
    finished,
    leadsExported: p.leadsExported,
    leadsTotal: p.leadsTotal,
    leadsPercent,
    upstreamRequests: p.upstreamRequests,
    upstreamRequestsLeft: p.upstreamRequestsLeft,
    requestsPercent: finished && teardown.status === 'completed' ? 100 : requestsPercent,
    etaText: finished || p.secondsLeft === null ? null : `about ${durationText(p.secondsLeft)} left`,
  };
}

function percent(part: number, whole: number): number {
  if (whole <= 0) return 100;
  return Math.max(0, Math.min(100, Math.floor((part / whole) * 100)));
}

export function durationText(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

const EVENT_LABELS: Record<AuditEvent['type'], string> = {
  'teardown.requested': 'Requested',
  'teardown.approved': 'Approved',
  'teardown.rejected': 'Rejected',
  'archive.exported': 'Archive exported and verified',
  'workflow.cancelled': 'Workflow cancelled upstream',
  'archive.finalized': 'Final snapshot archived',
  'workflow.deleted': 'Workflow deleted upstream',
  'teardown.completed': 'Completed',
  'teardown.failed': 'Failed',
  'teardown.retried': 'Retried',
  'teardown.aborted': 'Aborted',
  'hold.placed': 'Legal hold placed',
  'hold.lifted': 'Legal hold lifted',
  'restore.requested': 'Restore requested',
  'restore.completed': 'Restored as a new draft',
  'restore.failed': 'Restore failed',
};

export interface TimelineEntry {
  seq: number;
  at: string;
  type: string;
  label: string;
  actor: string;
  /** A short line from the event's details (comment, error, counts); may be empty. */
  summary: string;
  hash: string;
}

export function timelineOf(events: readonly AuditEvent[]): TimelineEntry[] {
  return events.map((event) => ({
    seq: event.seq,
    at: event.at,
    type: event.type,
    label: EVENT_LABELS[event.type],
    actor: event.actor,
    summary: summaryOf(event.details),
    hash: event.hash,
  }));
}

function summaryOf(details: Record<string, unknown>): string {
  const parts: string[] = [];
  const text = (key: string) => {
    const value = details[key];
    return typeof value === 'string' ? value : null;
  };
  if (details['expired'] === true) parts.push('expired while awaiting approval');
  const comment = text('comment');
  if (comment) parts.push(`comment: ${clip(comment)}`);
  const error = details['error'];
  if (error && typeof error === 'object') {
    const e = error as Record<string, unknown>;
    const message = typeof e['message'] === 'string' ? e['message'] : '';
    parts.push(`${typeof e['code'] === 'string' ? e['code'] : 'error'}: ${clip(message)}`);
  }
  const code = text('code');
  if (code) parts.push(code);
  const counts = details['counts'];
  if (counts && typeof counts === 'object') {
    const c = counts as Record<string, unknown>;
    parts.push(`${String(c['nodes'])} nodes, ${String(c['edges'])} edges, ${String(c['leads'])} leads`);
  }
  if (typeof details['fromStep'] === 'string') parts.push(`from step ${details['fromStep']}`);
  return parts.join(' · ');
}

/** At most 300 code points, never cutting a surrogate pair. */
function clip(text: string): string {
  const points = Array.from(text);
  return points.length <= 300 ? text : `${points.slice(0, 300).join('')}…`;
}

export interface SnapshotChange {
  what: 'nodes' | 'edges' | 'leads';
  exported: number;
  final: number;
  delta: number;
}

/**
 * What the snapshot taken after the cancel holds that differs from the export, by count. Null
 * when no final snapshot was taken (nothing changed, or the teardown did not get that far).
 */
export function finalChangesOf(teardown: TeardownResource): SnapshotChange[] | null {
  const archive = teardown.archive;
  if (!archive?.final) return null;
  return (['nodes', 'edges', 'leads'] as const).map((what) => ({
    what,
    exported: archive.counts[what],
    final: archive.final!.counts[what],
    delta: archive.final!.counts[what] - archive.counts[what],
  }));
}

export interface DecisionState {
  allowed: boolean;
  /** Why the approve and reject buttons are disabled; null when they are not. */
  reason: string | null;
}

/** Whether the caller may approve or reject now, by the rules the approval service enforces. */
export function decisionStateOf(caller: Caller, teardown: TeardownResource): DecisionState {
  if (!hasRole(caller, 'approver')) return { allowed: false, reason: 'Deciding needs the approver role.' };
  if (teardown.status !== 'awaiting_approval') {
    return { allowed: false, reason: 'This teardown is not awaiting approval.' };
  }
  if (teardown.requestedBy === caller.name) {
    return {
      allowed: false,
      reason: 'You requested this teardown: its requester may not approve or reject it.',
    };
  }
  if (teardown.approvals.some((a) => a.approver === caller.name)) {
    return { allowed: false, reason: 'You have already decided on this teardown.' };
  }
  return { allowed: true, reason: null };
}

export function bytesText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
