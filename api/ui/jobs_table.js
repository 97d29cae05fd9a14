// The replications table. Each row is built once and then updated in place, so that a live
// update never takes the keyboard focus or a ticked box away from the operator.
import { actionsFor, activeStates } from './jobs.js';
import { bytes, progressText } from './format.js';

const participantNames = {
  scheduler: 'Scheduler',
  poller: 'Poller',
  vma_process: 'Mover',
  volume: 'Volume',
};

const actionLabels = { stop: 'Stop', force: 'Force stop', resume: 'Resume', delete: 'Delete' };

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('data-') || k.startsWith('aria-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  e.append(...children);
  return e;
}

/// The line under the badge once a job has settled: what became of its volume, or its error.
function outcomeNote(job) {
  if (job.state === 'failed') return job.error || 'failed';
  if (job.state === 'stopped') return job.resumable ? 'volume kept: resumable' : 'stopped';
  if (job.state === 'cancelled') return 'volume deleted';
  if (job.state === 'stopping' && job.stop) {
    const how = job.stop.mode === 'force' ? 'forced' : 'graceful';
    return `${how} stop, volume ${job.stop.volumes === 'keep' ? 'kept' : 'deleted'}`;
  }
  if (job.stalled) return 'no progress for a while: stalled';
  return '';
}

function participants(job) {
  const list = el('ul', { class: 'participants', 'aria-label': 'Confirmations' });
  const parts = (job.stop && job.stop.participants) || {};
  const details = (job.stop && job.stop.details) || {};
  for (const [who, label] of Object.entries(participantNames)) {
    const outcome = parts[who] || 'pending';
    const item = el('li', { 'data-participant': who, 'data-outcome': outcome });
    item.textContent = `${label}: ${outcome === 'pending' ? 'waiting…' : outcome.replace('_', ' ')}`;
    if (details[who]) item.title = details[who];
    list.append(item);
  }
  return list;
}

export class JobsTable {
  constructor(tbody, { onAction, onSelect }) {
    this.tbody = tbody;
    this.rows = new Map();
    this.selected = new Set();
    this.onAction = onAction;
    this.onSelect = onSelect;
  }

  /// Shows `jobs` (already in order), changing only the rows that need it.
  render(jobs) {
    const ids = new Set(jobs.map((j) => j.id));
    for (const [id, row] of this.rows) {
      if (!ids.has(id)) {
        row.tr.remove();
        this.rows.delete(id);
        this.selected.delete(id);
      }
    }
    let cursor = this.tbody.firstElementChild;
    for (const job of jobs) {
      let row = this.rows.get(job.id);
      if (!row) {
        row = this.build(job);
        this.rows.set(job.id, row);
      }
      this.update(row, job);
      if (row.tr === cursor) cursor = cursor.nextElementSibling;
      else this.tbody.insertBefore(row.tr, cursor);
    }
    for (const id of [...this.selected]) {
      const job = jobs.find((j) => j.id === id);
      if (!job || !activeStates.has(job.state)) this.selected.delete(id);
    }
    this.onSelect(this.selected);
  }

  /// After the jobs `ids` changed: a row comes or goes only then, so a progress update touches
  /// only its own row (the table may hold thousands).
  changed(ids, list) {
    if (ids.some((id) => !this.rows.has(id) || !list.get(id))) {
      this.render(list.sorted());
      return;
    }
    for (const id of ids) this.update(this.rows.get(id), list.get(id));
    const before = this.selected.size;
    for (const id of ids) if (!activeStates.has(list.get(id).state)) this.selected.delete(id);
    if (this.selected.size !== before) this.onSelect(this.selected);
  }

  build(job) {
    const select = el('input', { type: 'checkbox' });
    select.addEventListener('change', () => {
      if (select.checked) this.selected.add(job.id); else this.selected.delete(job.id);
      this.onSelect(this.selected);
    });
    const name = el('button', { type: 'button', class: 'link' });
    name.addEventListener('click', () => this.onAction('detail', job.id));
    const badge = el('span', { class: 'badge' });
    const note = el('span', { class: 'note' });
    const stateCell = el('td', { class: 'state' }, badge, note);
    const bar = el('progress', { max: 1, value: 0 });
    const progress = el('span', { class: 'progress-text' });
    const actions = el('td', { class: 'actions' });
    const tr = el('tr', {},
      el('td', { class: 'select' }, select),
      el('td', { class: 'name' }, name, el('div', { class: 'muted id', text: job.id })),
      el('td', { class: 'vma' }),
      stateCell,
      el('td', { class: 'progress' }, bar, progress),
      actions);
    tr.dataset.id = job.id;
    return { tr, select, name, badge, note, stateCell, bar, progress, actions, actionKey: '', partsKey: '' };
  }

  update(row, job) {
    const { tr } = row;
    tr.dataset.state = job.state;
    row.name.textContent = job.name;
    row.name.setAttribute('aria-label', `Details of ${job.name}`);
    row.select.setAttribute('aria-label', `Select ${job.name}`);
    row.select.disabled = !activeStates.has(job.state);
    row.select.checked = this.selected.has(job.id);
    tr.children[2].textContent = job.vma;
    row.badge.textContent = job.state;
    row.badge.dataset.state = job.state;
    row.note.textContent = outcomeNote(job);

    const partsKey = job.state === 'stopping' ? JSON.stringify(job.stop && job.stop.participants) : '';
    if (partsKey !== row.partsKey) {
      row.partsKey = partsKey;
      const old = row.stateCell.querySelector('.participants');
      if (old) old.remove();
      if (partsKey) row.stateCell.append(participants(job));
    }

    const p = job.progress;
    const total = (p && p.bytes_total) || (job.volume && job.volume.size) || 0;
    row.bar.max = Math.max(total, 1);
    row.bar.value = p ? Math.min(p.bytes_done, row.bar.max) : (job.state === 'completed' ? row.bar.max : 0);
    row.bar.setAttribute('aria-label', `Progress of ${job.name}`);
    row.progress.textContent = p ? progressText(p, job.state === 'replicating') : (total ? `${bytes(total)}` : '');

    const acts = actionsFor(job);
    const key = acts.join(',') + job.name;
    if (key !== row.actionKey) {
      row.actionKey = key;
      const focused = row.actions.contains(document.activeElement) ? document.activeElement.dataset.action : null;
      row.actions.replaceChildren(...acts.map((a) => {
        const b = el('button', { type: 'button', text: actionLabels[a], 'data-action': a,
          'aria-label': `${actionLabels[a]} ${job.name}` });
        if (a === 'delete' || a === 'force') b.classList.add('danger');
        b.addEventListener('click', () => this.onAction(a, job.id, b));
        return b;
      }));
      const again = focused && row.actions.querySelector(`[data-action="${focused}"]`);
      if (again) again.focus();
    }
  }

  clearSelection() {
    this.selected.clear();
  }
}
