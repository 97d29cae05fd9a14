// The operator's page: wires the live feed, the table, the dialogs and the panels together.
// The token comes from the link that `migratekit up` prints (?token=...), is kept for this
// browser tab only (sessionStorage) and is taken out of the address bar at once.
import { Agents } from './agents.js';
import { Api, jobPath } from './api.js';
import { Analytics } from './analytics.js';
import { DeleteDialog } from './delete_dialog.js';
import { JobDetail } from './job_detail.js';
import { JobList, settledStates } from './jobs.js';
import { JobsTable } from './jobs_table.js';
import { connectLive } from './live.js';
import { Maintenance } from './maintenance.js';
import { ReplicateDialog } from './replicate_dialog.js';
import { Schedules } from './schedules.js';
import { StopDialog } from './stop_dialog.js';

const tokenKey = 'migratekit.api-token';

function takeToken() {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    sessionStorage.setItem(tokenKey, fromUrl);
    url.searchParams.delete('token');
    window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash);
  }
  return sessionStorage.getItem(tokenKey) || '';
}

function askForToken(why) {
  const form = document.getElementById('token-form');
  form.hidden = false;
  document.getElementById('jobs-section').hidden = true;
  if (why) showAlert(why);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(tokenKey, document.getElementById('token-input').value.trim());
    window.location.reload();
  }, { once: true });
  document.getElementById('token-input').focus();
}

/// `source` marks an alert that a later success takes back (a list that could not be loaded).
function showAlert(text, source = '') {
  document.getElementById('alert-text').textContent = text;
  const box = document.getElementById('alert');
  box.dataset.source = source;
  box.hidden = false;
}

const connectionTexts = {
  live: () => 'Live',
  reconnecting: () => 'Connection to the OMA lost: reconnecting…',
  down: (delay) => `Connection to the OMA lost: trying again in ${Math.round(delay / 1000)} s…`,
};

function start(token) {
  const api = new Api(token);
  const selectAll = document.getElementById('select-all');
  const batchStop = document.getElementById('batch-stop');
  let live = null;

  const detail = new JobDetail(api);
  const analytics = new Analytics(api);
  const agents = new Agents(api);
  const schedules = new Schedules(api, {
    jobName: (id) => (list.get(id) || {}).name,
    jobs: () => list.sorted(),
  });
  const list = new JobList((ids) => {
    table.changed(ids, list);
    for (const id of ids) {
      const job = list.get(id);
      if (job) detail.changed(job); else detail.removed(id);
      if (!job || settledStates.has(job.state)) analytics.refreshSoon();
    }
    schedules.jobsChanged(ids);
    const n = list.jobs.size;
    document.getElementById('jobs-count').textContent = n ? `${n} in all` : '';
    document.getElementById('jobs-empty').hidden = n > 0;
  });
  const stopDialog = new StopDialog(api, {
    onStopped(accepted, rejected) {
      table.clearSelection();
      table.render(list.sorted());
      if (rejected.length) {
        const names = rejected.map((r) => `${(list.get(r.id) || { name: r.id }).name}: ${r.error && r.error.message ? r.error.message : r.error}`);
        showAlert(`${accepted.length} stopping; ${rejected.length} refused: ${names.join('; ')}.`);
      }
    },
  });
  const deleteDialog = new DeleteDialog(api);
  const jobVmas = () => [...new Set(list.sorted().map((j) => j.vma))].sort();
  const maintenance = new Maintenance(api, { vmas: jobVmas });
  // The live feed adds the new row too; putting it at once spares the wait for it.
  const replicate = new ReplicateDialog(api, { vmas: jobVmas, onCreated: (job) => list.put(job) });
  document.getElementById('new-replication').addEventListener('click', () => replicate.open());

  async function resume(job, button) {
    button.disabled = true;
    try {
      await api.post(`${jobPath(job.id)}/resume`);
    } catch (err) {
      showAlert(err.plain(`Resuming ${job.name}`));
      button.disabled = false;
    }
  }

  const table = new JobsTable(document.querySelector('#jobs tbody'), {
    onAction(action, id, button) {
      const job = list.get(id);
      if (!job) return;
      if (action === 'detail') detail.open(job);
      else if (action === 'stop') stopDialog.open([job]);
      else if (action === 'force') stopDialog.open([job], { force: true, volumes: job.stop.volumes });
      else if (action === 'resume') resume(job, button);
      else if (action === 'delete') deleteDialog.open(job);
    },
    onSelect(selected) {
      batchStop.disabled = selected.size === 0;
      batchStop.textContent = selected.size ? `Stop selected (${selected.size})` : 'Stop selected';
      const stoppable = [...table.rows.values()].filter((r) => !r.select.disabled).length;
      selectAll.checked = stoppable > 0 && selected.size === stoppable;
      selectAll.indeterminate = selected.size > 0 && selected.size < stoppable;
    },
  });

  selectAll.addEventListener('change', () => {
    for (const [id, row] of table.rows) {
      if (row.select.disabled) continue;
      if (selectAll.checked) table.selected.add(id); else table.selected.delete(id);
    }
    table.render(list.sorted());
  });
  batchStop.addEventListener('click', () => {
    const jobs = [...table.selected].map((id) => list.get(id)).filter(Boolean);
    if (jobs.length) stopDialog.open(jobs);
  });

  async function reload() {
    list.beginLoad();
    try {
      list.load(await api.allJobs());
      const box = document.getElementById('alert');
      if (box.dataset.source === 'load') box.hidden = true;
    } catch (err) {
      list.abortLoad();
      if (err.status === 401) {
        live.close();
        askForToken(err.plain('Loading the replications'));
        return;
      }
      showAlert(err.plain('Loading the replications'), 'load');
    }
    maintenance.load();
    schedules.load();
    analytics.load();
    agents.load();
  }

  // The feed gave up (the server refused it): a wrong token is worth saying at once.
  async function closed() {
    try {
      await api.get('/replications?limit=1');
    } catch (err) {
      if (err.status === 401) {
        live.close();
        askForToken(err.plain('Following the replications'));
      }
    }
  }

  live = connectLive({
    token,
    onOpen: reload,
    onJob: (job) => list.put(job),
    onRemoved: (id) => list.remove(id),
    onMaintenance: (mode) => maintenance.showState(mode),
    onSchedules: (data) => schedules.fromFeed(data),
    onStatus: (state, delay) => {
      const c = document.getElementById('connection');
      c.dataset.state = state;
      c.textContent = connectionTexts[state](delay);
    },
    onClosed: closed,
  });
}

document.getElementById('alert-close').addEventListener('click', () => {
  document.getElementById('alert').hidden = true;
});
const token = takeToken();
if (token) start(token); else askForToken('');
