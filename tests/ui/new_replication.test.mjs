// "New replication" from the page, against `migratekit up`: the agents the OMA knows are
// offered (GET /agents), what is missing and what the OMA refuses is said beside the field it
// concerns, and a replication of the demo source is created: the dialog closes and its row
// appears and reaches replicating, from the live feed, with no reload.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { Fixture, row, rowState, waitFor } from './harness.mjs';

const f = new Fixture();
after(() => f.close());

test('a new replication from the page: agents offered, errors beside their field, the row live', async () => {
  await f.startUp({ size: '256M', rate: '32M' });
  await waitFor('agent local online in GET /agents', async () => {
    const r = await f.api('GET', '/agents');
    return r.status === 200 && r.body.agents.some((a) => a.id === 'local' && a.online);
  });
  const page = await f.openPage();
  await page.evaluate(() => { window.sameDocument = true; });

  await page.getByRole('button', { name: 'New replication' }).click();
  const dialog = page.getByRole('dialog', { name: 'New replication' });
  await dialog.waitFor();
  const name = dialog.getByLabel('Name', { exact: true });
  const source = dialog.getByLabel('Source', { exact: true });
  const agent = dialog.getByLabel('Agent (VMA)');
  await waitFor('agent local offered', async () => (await agent.inputValue()) === 'local');
  assert.match(await agent.locator('option:checked').textContent(), /^local on \S+ \(online\)$/);

  // Nothing given: the page says what is missing, beside the name.
  await dialog.getByRole('button', { name: 'Create replication' }).click();
  const nameError = dialog.locator('#replicate-name-error');
  await nameError.waitFor();
  assert.match(await nameError.textContent(), /Give the replication a name/);
  assert.equal(await name.getAttribute('aria-invalid'), 'true');

  // A source the OMA refuses: its words, beside the source field; nothing is created.
  await name.fill('page disk 0');
  assert.equal(await nameError.isHidden(), true, 'typing clears the field\'s error');
  await source.fill('/etc/shadow');
  await dialog.getByRole('button', { name: 'Create replication' }).click();
  const sourceError = dialog.locator('#replicate-source-error');
  await sourceError.waitFor();
  assert.match(await sourceError.textContent(), /^The OMA refused this source: an NBD URI expected \(nbd:\/\/host\[:port\]\/export or nbd\+unix:\/\/\/export\?socket=\/absolute\/path\)\.$/);
  assert.equal(await source.getAttribute('aria-invalid'), 'true');
  assert.match(await source.getAttribute('aria-describedby'), /\breplicate-source-error\b/);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'replicate-source');
  assert.equal(await dialog.locator('#replicate-error').isHidden(), true, 'no general error');
  assert.equal(await dialog.isVisible(), true, 'the dialog stays open');
  assert.equal((await f.jobs()).filter((j) => j.name === 'page disk 0').length, 0);

  // The demo source, submitted with Enter: the dialog closes and the row comes.
  await source.fill(`nbd+unix:///?socket=${f.data}/demo/source.sock`);
  await source.press('Enter');
  await dialog.waitFor({ state: 'hidden' });
  const created = (await f.jobs()).filter((j) => j.name === 'page disk 0');
  assert.equal(created.length, 1, JSON.stringify(created));
  const { id } = created[0];
  assert.equal(created[0].vma, 'local');
  await row(page, id).waitFor();
  await rowState(page, id, 'replicating');
  assert.match(await row(page, id).textContent(), /page disk 0/);
  assert.equal(await page.evaluate(() => window.sameDocument), true, 'no reload');
  assert.deepEqual(page.errors, []);
});
