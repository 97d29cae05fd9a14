// The page's copy of the replications: the list loaded at each (re)connection, kept current by
// the live feed. Changes that arrive while the list loads are held and applied after it, and a
// change never replaces a newer one (by updated_at), so the page never steps back in time.

export const activeStates = new Set(['queued', 'starting', 'replicating']);
export const settledStates = new Set(['stopped', 'failed', 'completed', 'cancelled']);

/// What the operator may do with a job in its state (the OMA has the last word).
export function actionsFor(job) {
  const out = [];
  if (activeStates.has(job.state)) out.push('stop');
  if (job.state === 'stopping' && job.stop && job.stop.mode !== 'force') out.push('force');
  if (job.resumable && (job.state === 'stopped' || job.state === 'failed')) out.push('resume');
  if (job.state !== 'stopping' || (job.stop && job.stop.volumes === 'delete')) out.push('delete');
  return out;
}

const newer = (a, b) => !b || !a.updated_at || !b.updated_at || a.updated_at >= b.updated_at;

export class JobList {
  constructor(onChange) {
    this.jobs = new Map();
    this.onChange = onChange;  // (ids that changed or went away)
    this.loading = false;
    this.held = [];
  }

  beginLoad() {
    this.loading = true;
    this.held = [];
  }

  /// The full list, as the API gave it; then what the feed said meanwhile.
  load(list) {
    const gone = [...this.jobs.keys()].filter((id) => !list.some((j) => j.id === id));
    this.jobs = new Map(list.map((j) => [j.id, j]));
    this.loading = false;
    const held = this.held;
    this.held = [];
    for (const [kind, x] of held) {
      if (kind === 'job') this.put(x, false); else this.remove(x, false);
    }
    this.onChange([...this.jobs.keys(), ...gone]);
  }

  /// The list could not be read: what the feed said meanwhile still counts.
  abortLoad() {
    this.load([...this.jobs.values()]);
  }

  put(job, notify = true) {
    if (this.loading) {
      this.held.push(['job', job]);
      return;
    }
    if (!newer(job, this.jobs.get(job.id))) return;
    this.jobs.set(job.id, job);
    if (notify) this.onChange([job.id]);
  }

  remove(id, notify = true) {
    if (this.loading) {
      this.held.push(['removed', id]);
      return;
    }
    this.jobs.delete(id);
    if (notify) this.onChange([id]);
  }

  get(id) { return this.jobs.get(id); }

  /// Newest first, as `migratekit ctl list` shows them.
  sorted() {
    return [...this.jobs.values()].sort((a, b) =>
      (b.created_at || '').localeCompare(a.created_at || '') || b.id.localeCompare(a.id));
  }
}
