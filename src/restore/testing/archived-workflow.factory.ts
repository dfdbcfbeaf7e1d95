import type { JsonObject } from '../../common/json.js';
import type { ArchivedWorkflow } from '../restore-creator.js';
import { leadFiles } from '../restore-leads.js';
import { phoneOnlyCsv } from './fake-restore-upstream.js';

export function buildNode(overrides: Partial<JsonObject> = {}): JsonObject {
  return {
    id: 'node_a',
    node_type: 'VOICE_CALL',
    label: 'Call',
    position_x: 0,
    position_y: 0,
    config: { agent_id: 'agt_1', retries: 2 },
    ...overrides,
  };
}

export function buildLead(overrides: Partial<JsonObject> = {}): JsonObject {
  return { id: 'wlead_1', phone_number: '+14155550101', status: 'completed', metadata: {}, ...overrides };
}

/**
 * Three nodes (two alike but for their id, as a lookup must still tell apart), three edges in
 * archived order, and leads: one removed (excluded), one unencodable, one phone number enrolled twice.
 */
export function buildArchivedWorkflow(overrides: Partial<ArchivedWorkflow> = {}): ArchivedWorkflow {
  const nodes = [
    buildNode({ id: 'node_a', label: 'Start', node_type: 'START' }),
    buildNode({ id: 'node_b' }),
    buildNode({ id: 'node_c' }),
  ];
  const edges: JsonObject[] = [
    { id: 'edge_1', from_node_id: 'node_a', to_node_id: 'node_b', label: null },
    { id: 'edge_2', from_node_id: 'node_b', to_node_id: 'node_c', label: 'NO_ANSWER' },
    { id: 'edge_3', from_node_id: 'node_b', to_node_id: 'node_a', label: 'COMPLETED' },
  ];
  const leads = [
    buildLead({ id: 'wlead_1', phone_number: '+14155550101' }),
    buildLead({ id: 'wlead_2', phone_number: '+14155550102', status: 'removed' }),
    buildLead({ id: 'wlead_3', phone_number: 'bad' }),
    buildLead({ id: 'wlead_4', phone_number: '+14155550104' }),
    buildLead({ id: 'wlead_5', phone_number: '+14155550101', status: 'failed' }),
  ];
  return {
    restoreId: 'rst_01TEST',
    teardownId: 'td_01TEST',
    workflow: { title: 'Spring campaign', description: 'calls' },
    nodes,
    edges,
    leadFiles: (tally) => leadFiles(iterate(leads), ['removed'], phoneOnlyCsv, tally),
    ...overrides,
  };
}

async function* iterate<T>(items: readonly T[]): AsyncGenerator<T> {
  await Promise.resolve();
  yield* items;
}
