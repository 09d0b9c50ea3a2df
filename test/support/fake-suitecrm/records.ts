/** In-memory module records behind the V8 `module` routes, seeded with a few Accounts and a Contact. */
import { randomUUID } from 'node:crypto';

/** Module name -> bean object name (the `type` SuiteCRM puts in records). */
export const MODULES: Readonly<Record<string, string>> = {
  Accounts: 'Account',
  Bugs: 'Bug',
  Calls: 'Call',
  Campaigns: 'Campaign',
  Cases: 'aCase',
  Contacts: 'Contact',
  Documents: 'Document',
  Leads: 'Lead',
  Meetings: 'Meeting',
  Notes: 'Note',
  Opportunities: 'Opportunity',
  Project: 'Project',
  Tasks: 'Task',
  Users: 'User',
};

export function isKnownModule(name: string): boolean {
  return Object.hasOwn(MODULES, name);
}

export interface StoredRecord {
  module: string;
  id: string;
  attributes: Record<string, unknown>;
}

export const SEED_ACCOUNT_IDS = [
  '11111111-1111-4111-8111-111111111111',
  '22222222-2222-4222-8222-222222222222',
  '33333333-3333-4333-8333-333333333333',
] as const;

export class RecordStore {
  readonly #modules = new Map<string, Map<string, StoredRecord>>();

  constructor() {
    const seededAt = '2024-01-01T00:00:00+00:00';
    const names = ['Acme Corporation', 'Globex', 'Initech'];
    SEED_ACCOUNT_IDS.forEach((id, i) => {
      this.#put('Accounts', id, { name: names[i], account_type: 'Customer', date_entered: seededAt, date_modified: seededAt });
    });
    this.#put('Contacts', '44444444-4444-4444-8444-444444444444', {
      first_name: 'Ada',
      last_name: 'Lovelace',
      date_entered: seededAt,
      date_modified: seededAt,
    });
  }

  list(module: string): StoredRecord[] {
    return [...(this.#modules.get(module)?.values() ?? [])];
  }

  get(module: string, id: string): StoredRecord | undefined {
    return this.#modules.get(module)?.get(id);
  }

  create(module: string, id: string | undefined, attributes: Record<string, unknown>): StoredRecord {
    const now = atomNow();
    return this.#put(module, id ?? randomUUID(), { ...attributes, date_entered: now, date_modified: now });
  }

  update(record: StoredRecord, attributes: Record<string, unknown>): StoredRecord {
    record.attributes = { ...record.attributes, ...attributes, date_modified: atomNow() };
    return record;
  }

  delete(module: string, id: string): boolean {
    return this.#modules.get(module)?.delete(id) ?? false;
  }

  #put(module: string, id: string, attributes: Record<string, unknown>): StoredRecord {
    let table = this.#modules.get(module);
    if (table === undefined) {
      table = new Map();
      this.#modules.set(module, table);
    }
    const record: StoredRecord = { module, id, attributes };
    table.set(id, record);
    return record;
  }
}

/** ISO 8601 ATOM, the form SuiteCRM re-emits datetimes in. */
function atomNow(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, '+00:00');
}
