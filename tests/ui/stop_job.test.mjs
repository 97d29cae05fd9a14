// The Stop Job button end to end: the page against `migratekit up` with a rate-limited demo
// disk. Stop opens the dialog with the OMA's plan, Cancel (or Escape) changes nothing,
// confirming moves the row to stopping (each participant's confirmation shown as it comes) and
// then stopped, with no reload; Resume brings it back to replicating; Delete removes the row.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { Fixture, outDir, row, rowState, waitFor } from './harness.mjs';

const f = new Fixture();
after(() => f.close());

test('stop, cancel, confirm, resume and delete from the page', async () => {
  // 256 MiB at 32 Mbit/s: a minute of copy, and the mover's 16 MiB in flight take about four
  // seconds to drain, so `stopping` lasts long enough to be seen.
  await f.startUp({ size: '256M', rate: '32M' });
  const [demo] = await f.jobs();
  const id = demo.id;
  await f.waitJob(id, 'replicating with progress',
    (j) => j.state === 'replicating' && j.progress && j.progress.bytes_done > 0);

  const page = await f.openPage();
  assert.equal(new URL(page.url()).search, '', 'the token is taken out of the address bar');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('migratekit.api-token')), f.up.token);
  await page.evaluate(() => { window.sameDocument = true; });
  await rowState(page, id, 'replicating');
  const r = row(page, id);
  await waitFor('the progress text', async () => /MiB of 256\.0 MiB/.test(await r.locator('.progress-text').textContent()));

  // Stop opens the dialog, which shows the plan; Cancel changes nothing.
  await page.getByRole('button', { name: 'Stop demo disk 0' }).click();
  const dialog = page.getByRole('dialog', { name: 'Stop replication “demo disk 0”' });
  await dialog.waitFor();
  await dialog.getByText('SIGTERM to the mover').waitFor();
  await dialog.getByText(/^Kept: /).waitFor();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });
  // From the keyboard: Enter on the Stop button opens the dialog, Escape closes it and the
  // focus goes back to the button.
  await page.getByRole('button', { name: 'Stop demo disk 0' }).focus();
  await page.keyboard.press('Enter');
  await dialog.waitFor();
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')),
    'Stop demo disk 0');
  const untouched = await f.job(id);
  assert.equal(untouched.state, 'replicating');
  assert.equal(untouched.stop, null);
  const events = (await f.api('GET', `/replications/${id}/log`)).body.entries.map((e) => e.event);
  assert.ok(!events.includes('stop_requested'), `a cancelled dialog logged a stop: ${events}`);

  // Confirm (keep the volume, with a comment): stopping, each confirmation, then stopped.
  await page.getByRole('button', { name: 'Stop demo disk 0' }).click();
  await dialog.waitFor();
  await dialog.getByLabel('Keep the partial volume (resume later)').check();
  await dialog.getByLabel('Comment (optional, kept in the JobLog)').fill('browser test');
  await dialog.getByText('SIGTERM to the mover').waitFor();
  const frozen = f.freezeMovers();  // the stop stays under way until the thaw
  await dialog.getByRole('button', { name: 'Stop replication' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await rowState(page, id, 'stopping', 10000);
  await r.locator('.participants li[data-participant="scheduler"][data-outcome="ok"]').waitFor();
  await r.locator('.participants li[data-participant="vma_process"][data-outcome="pending"]').waitFor();
  await page.screenshot({ path: join(outDir, 'stopping.png') });
  f.thaw(frozen);
  await rowState(page, id, 'stopped');
  assert.match(await r.locator('.note').textContent(), /volume kept: resumable/);
  const stopped = await f.job(id);
  assert.equal(stopped.stop.comment, 'browser test');
  assert.equal(stopped.stop.volumes, 'keep');

  // The detail panel tells the story from the JobLog.
  await page.getByRole('button', { name: 'Details of demo disk 0' }).click();
  const detail = page.getByRole('complementary', { name: 'demo disk 0' });
  await detail.locator('tr[data-event="stop_settled"]').waitFor();
  await detail.locator('tr[data-event="participant_confirmed"]').first().waitFor();
  await detail.getByRole('button', { name: 'Close' }).click();

  // Resume: back to replicating, from where it stopped.
  await page.getByRole('button', { name: 'Resume demo disk 0' }).click();
  await rowState(page, id, 'replicating');
  const resumed = await f.job(id);
  assert.ok(resumed.progress === null || resumed.progress.bytes_done >= stopped.progress.bytes_done);

  // Delete, with its own warning: the row goes, and so does the volume file.
  await page.getByRole('button', { name: 'Delete demo disk 0' }).click();
  const del = page.getByRole('dialog', { name: 'Delete replication “demo disk 0”' });
  await del.getByText('This cannot be undone').waitFor();
  await del.getByRole('button', { name: 'Delete the replication and its volume' }).click();
  await r.waitFor({ state: 'detached', timeout: 60000 });
  assert.equal(await f.job(id), null);
  assert.ok(stopped.volume.path && !existsSync(stopped.volume.path), `${stopped.volume.path} is still there`);
  await page.getByText('No replications yet').waitFor();

  assert.equal(await page.evaluate(() => window.sameDocument), true, 'the page was reloaded');
  assert.deepEqual(page.errors, []);
});
