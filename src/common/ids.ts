import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID (time-ordered, 26 Crockford base32 characters): ids sort by creation time. */
export function ulid(now: number = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i += 1) {
    time = CROCKFORD[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  const random = randomBytes(16);
  let rest = '';
  for (let i = 0; i < 16; i += 1) rest += CROCKFORD[random[i]! % 32];
  return time + rest;
}

export function newTeardownId(): string {
  return `td_${ulid()}`;
}

export function newRestoreId(): string {
  return `rst_${ulid()}`;
}
