import { describe, expect, it } from '@jest/globals';
import type { AuditRepository } from '../audit/audit.repository.js';
import type { NewAuditEvent } from '../audit/audit-event.js';
import { type Transaction, UnitOfWork } from '../db/unit-of-work.js';
import type { HeldTeardown, LegalHold } from './legal-hold.js';
import type { LegalHoldRepository } from './legal-hold.repository.js';
import { LegalHoldService } from './legal-hold.service.js';

const WORKFLOW_ID = 'wfl_m3v7zb9rk2px';
const HOLD_ID = 'hold_01JD0000000000000000000000';

function buildHold(overrides: Partial<LegalHold> = {}): LegalHold {
  return {
    id: HOLD_ID,
    workflowId: WORKFLOW_ID,
    reason: 'litigation LIT-7',
    placedBy: 'ops-admin',
    placedAt: new Date('2030-01-01T00:00:00.000Z'),
    liftedBy: null,
    liftedAt: null,
    ...overrides,
  };
}

function buildHeld(overrides: Partial<HeldTeardown> = {}): HeldTeardown {
  return {
    id: 'td_01JD0000000000000000000000',
    status: 'failed',
    cancelSent: true,
    deleteSent: false,
    ...overrides,
  };
}

/**
 * The service over fakes that log, in order, what each port was asked and in which transaction:
 * one unit of work per call, so `tx` is the same object throughout it.
 */
function build({ stored = null as LegalHold | null, held = [buildHeld()] } = {}) {
  const log: string[] = [];
  const events: NewAuditEvent[] = [];
  let opened: Transaction | null = null;
  const inTx = (tx: Transaction) => (tx === opened ? 'in tx' : 'OUTSIDE tx');
  class LoggingUnitOfWork extends UnitOfWork {
    async run<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
      opened = Object.freeze({}) as Transaction;
      log.push('begin');
      const result = await work(opened);
      log.push('commit');
      return result;
    }
  }
  const holds = {
    lockWorkflow: (tx: Transaction, workflowId: string) =>
      Promise.resolve(void log.push(`lock ${workflowId} ${inTx(tx)}`)),
    insert: (tx: Transaction, hold: { workflowId: string; reason: string; placedBy: string }) => {
      log.push(`insert hold ${inTx(tx)}`);
      return Promise.resolve(buildHold(hold));
    },
    lockById: (tx: Transaction, id: string) => {
      log.push(`lock hold ${id} ${inTx(tx)}`);
      return Promise.resolve(stored);
    },
    markLifted: (tx: Transaction, id: string, liftedBy: string) => {
      log.push(`mark lifted ${inTx(tx)}`);
      return Promise.resolve(buildHold({ id, liftedBy, liftedAt: new Date() }));
    },
  };
  const teardowns = {
    notCompletedOf: (tx: Transaction, workflowId: string) => {
      log.push(`list teardowns of ${workflowId} ${inTx(tx)}`);
      return Promise.resolve(held);
    },
  };
  const audit = {
    appendWithin: (tx: Transaction, appended: NewAuditEvent[]) => {
      log.push(`append ${appended.map((e) => e.type).join()} ${inTx(tx)}`);
      events.push(...appended);
      return Promise.resolve([]);
    },
  };
  const sut = new LegalHoldService(
    new LoggingUnitOfWork(),
    holds as unknown as LegalHoldRepository,
    teardowns,
    audit as unknown as AuditRepository,
  );
  return { sut, log, events };
}

describe(LegalHoldService.name, () => {
  describe('place', () => {
    it("lists the workflow's teardowns under its lock, after the hold is written, in one unit of work with the event", async () => {
      const held = [
        buildHeld(),
        buildHeld({ id: 'td_01JD0000000000000000000001', status: 'queued', cancelSent: false }),
      ];
      const { sut, log, events } = build({ held });

      const placed = await sut.place(WORKFLOW_ID, 'litigation LIT-7', 'ops-admin');

      expect(placed).toEqual({ hold: buildHold(), teardowns: held });
      expect(log).toEqual([
        'begin',
        `lock ${WORKFLOW_ID} in tx`,
        'insert hold in tx',
        `list teardowns of ${WORKFLOW_ID} in tx`,
        'append hold.placed in tx',
        'commit',
      ]);
      expect(events).toEqual([
        {
          actor: 'ops-admin',
          teardownId: null,
          workflowId: WORKFLOW_ID,
          type: 'hold.placed',
          details: { holdId: HOLD_ID, reason: 'litigation LIT-7', unfinishedTeardowns: held },
        },
      ]);
    });
  });

  describe('lift', () => {
    it('lifts a hold in force and records hold.lifted in the same unit of work', async () => {
      const { sut, log, events } = build({ stored: buildHold() });

      await expect(sut.lift(HOLD_ID, 'ops-admin')).resolves.toMatchObject({
        id: HOLD_ID,
        liftedBy: 'ops-admin',
      });
      expect(log).toEqual([
        'begin',
        `lock hold ${HOLD_ID} in tx`,
        'mark lifted in tx',
        'append hold.lifted in tx',
        'commit',
      ]);
      expect(events).toMatchObject([
        { type: 'hold.lifted', workflowId: WORKFLOW_ID, details: { holdId: HOLD_ID } },
      ]);
    });

    it('refuses an unknown hold with HOLD_NOT_FOUND, and a lifted one with HOLD_ALREADY_LIFTED, changing and recording nothing', async () => {
      const unknown = build();
      await expect(unknown.sut.lift(HOLD_ID, 'ops-admin')).rejects.toMatchObject({ code: 'HOLD_NOT_FOUND' });
      const liftedAt = new Date('2030-01-02T00:00:00.000Z');
      const lifted = build({ stored: buildHold({ liftedBy: 'other-admin', liftedAt }) });
      await expect(lifted.sut.lift(HOLD_ID, 'ops-admin')).rejects.toMatchObject({
        code: 'HOLD_ALREADY_LIFTED',
        message: `hold ${HOLD_ID} was lifted by other-admin`,
        details: { liftedAt: liftedAt.toISOString() },
      });
      for (const { log, events } of [unknown, lifted]) {
        expect(log).not.toContain('mark lifted in tx');
        expect(events).toEqual([]);
      }
    });
  });
});
