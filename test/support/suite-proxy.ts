/**
 * For a describe block whose tests share one SuiteCRM double and one proxy in front of it:
 * both start before the block's first test and close after its last.
 */
import { after, before } from 'node:test';
import { startFakeSuiteCrm, type FakeSuiteCrm } from './fake-suitecrm.js';
import { startProxy, type RunningProxy } from './proxy-harness.js';

export interface SuiteProxy {
  /** Set once the block's `before` has run. */
  readonly crm: FakeSuiteCrm;
  readonly proxy: RunningProxy;
}

export function proxyPerSuite(): SuiteProxy {
  const suite = {} as { crm: FakeSuiteCrm; proxy: RunningProxy };
  before(async () => {
    suite.crm = await startFakeSuiteCrm();
    suite.proxy = await startProxy(suite.crm.url);
  });
  after(async () => {
    await suite.proxy.close();
    await suite.crm.close();
  });
  return suite;
}
