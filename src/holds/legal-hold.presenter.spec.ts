import { describe, expect, it } from '@jest/globals';
import { holdResourceSchema, placedHoldSchema } from './legal-hold.dto.js';
import { presentHold } from './legal-hold.js';

const hold = {
  id: 'hold_01JB6Z3K4V9Q2W8E5R7T1Y3X6M',
  workflowId: 'wfl_m3v7zb9rk2px',
  reason: 'litigation hold LIT-7',
  placedBy: 'legal',
  placedAt: new Date('2024-05-01T09:00:00.000Z'),
  liftedBy: null,
  liftedAt: null,
};

describe(presentHold.name, () => {
  it('presents a hold as the schema of the OpenAPI document describes it', () => {
    const sut = presentHold(hold);

    expect(holdResourceSchema.parse(sut)).toEqual(sut);
  });

  it('presents a lifted hold, and the answer to placing one, as described', () => {
    const sut = presentHold({ ...hold, liftedBy: 'legal', liftedAt: new Date('2024-05-02T09:00:00.000Z') });
    const placed = {
      ...sut,
      teardowns: [
        { id: 'td_01JB6Z3K4V9Q2W8E5R7T1Y3X6M', status: 'exporting', cancelSent: false, deleteSent: false },
      ],
    };

    expect(holdResourceSchema.parse(sut)).toEqual(sut);
    expect(placedHoldSchema.parse(placed)).toEqual(placed);
  });
});
