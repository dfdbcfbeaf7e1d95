import type { Role } from '../config/app.config.js';

/** The authenticated caller of a request: its name is the actor of what the request causes. */
export interface Caller {
  name: string;
  roles: readonly Role[];
}

export function hasRole(caller: Caller, role: Role): boolean {
  return caller.roles.includes('admin') || caller.roles.includes(role);
}
