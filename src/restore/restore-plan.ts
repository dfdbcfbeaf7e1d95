import type { ArchiveRef } from '../archive/manifest.js';
import type { KnownRateLimit } from '../dialnexa/rate-window.js';
import type { ArchivedWorkflow } from './restore-creator.js';
import type { LeadsTally } from './restore-leads.js';
import type { RestorePlan } from './restore.js';

/**
 * What a restore will create, fixed once the archive is verified: the dry run's answer, and the
 * totals a running restore's progress is measured against. Requests: one per workflow, node and
 * edge, and one per leads file; their time at the rate DialNexa last announced (null before any
 * answer told it).
 */
export function planOf(
  ref: ArchiveRef,
  archived: ArchivedWorkflow,
  leads: LeadsTally,
  rate: KnownRateLimit | null,
): RestorePlan {
  const requests = 1 + archived.nodes.length + archived.edges.length + leads.files;
  return {
    manifestKey: ref.manifestKey,
    manifestSha256: ref.manifestSha256,
    workflow: archived.workflow,
    nodes: archived.nodes.length,
    edges: archived.edges.length,
    leads: leads.uploaded,
    leadFiles: leads.files,
    excludedLeads: leads.excluded,
    unencodableLeads: leads.unencodable,
    alteredLeads: leads.altered,
    requests,
    secondsAtCurrentRate:
      rate && rate.limit > 0 ? Math.ceil((requests / rate.limit) * (rate.windowMs / 1000)) : null,
  };
}
