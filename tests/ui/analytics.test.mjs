// Stop analytics on the page: the section shows what GET /analytics/stops computes from the
// JobLog, and is read again after a stop settles, without a reload.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { Fixture, rowState, waitFor } from './harness.mjs';

const f = new Fixture();
after(() => f.close());

const figure = async (page, name) =>
  page.locator('#analytics-figures dt', { hasText: name }).locator('xpath=following-sibling::dd[1]').textContent();

test('the stop analytics follow the stops', async () => {
  await f.startUp({ size: '256M', rate: '32M' });
  const [demo] = await f.jobs();
  await f.waitJob(demo.id, 'replicating', (j) => j.state === 'replicating');
  const page = await f.openPage();
  const section = page.getByRole('region', { name: 'Stop analytics' });
  await section.waitFor();
  assert.equal(await figure(page, 'Stops'), '0');
  assert.equal(await figure(page, 'By reason'), 'none');

  // A forced stop from the page: counted by reason and outcome, and as a force kill.
  await page.getByRole('button', { name: 'Stop demo disk 0' }).click();
  const dialog = page.getByRole('dialog', { name: 'Stop replication “demo disk 0”' });
  await dialog.getByText('SIGTERM to the mover').waitFor();
  await dialog.getByLabel(/Force: kill the mover at once/).check();
  await dialog.getByText('SIGKILL to the mover at once').waitFor();
  await dialog.getByRole('button', { name: 'Stop replication' }).click();
  await rowState(page, demo.id, 'stopped');
  await waitFor('the analytics to count the stop', async () => (await figure(page, 'Stops')) === '1', 20000);
  assert.equal(await figure(page, 'By reason'), 'user 1');
  assert.equal(await figure(page, 'By outcome'), 'stopped 1');
  assert.equal(await figure(page, 'Force kills'), '1');
  assert.match(await figure(page, 'Stop duration'), /^p50 \d.* · p95 \d.* · max \d/);
  const api = (await f.api('GET', '/analytics/stops')).body;
  assert.equal(api.stops, 1);
  assert.equal(api.force_kills, 1);
  assert.deepEqual(page.errors, []);
});
