/**
 * A SuiteCRM 7.14 test double (or SuiteCRM 8's layout, with `layout: 'suitecrm8'`): a real HTTP
 * server with the OAuth2 token endpoint and the V8 JSON:API, behaving as
 * /work/shared/suitecrm-api.md describes, with scriptable faults. Used by the integration tests, the fault
 * drills, the benchmark and `npm run demo`.
 *
 *   const fake = await startFakeSuiteCrm();
 *   fake.faults.tokenEndpoint = 'html500';
 *   ...
 *   await fake.close();
 */
export { startFakeSuiteCrm } from './fake-suitecrm/server.js';
export { DEFAULT_CLIENTS, DEFAULT_USERS } from './fake-suitecrm/types.js';
export type {
  FakeClient,
  FakeFaults,
  FakeSuiteCrm,
  FakeSuiteCrmOptions,
  FakeUser,
  Layout,
  RecordedProbe,
  RecordedRequest,
  RecordedTokenRequest,
} from './fake-suitecrm/types.js';
export { SEED_ACCOUNT_IDS } from './fake-suitecrm/records.js';
