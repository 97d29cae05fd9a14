// Deleting a schedule asks first, saying what the deletion changes: a pending action will not
// happen, and a closed window resumes the replications it stopped.
import { ConfirmDialog } from './confirm_dialog.js';
import { utc } from './format.js';

/// [what the dialog says, whether that is a warning, the confirm button's text].
function consequence(s, d) {
  if (s.kind === 'window') {
    const n = d.stoppedNames.length;
    if (!s.open && n > 0) {
      return [`The window (${d.when}) is closed and has stopped ${n === 1 ? 'a replication' : `${n} replications`} (${d.stoppedNames.join(', ')}): deleting it resumes ${n === 1 ? 'it' : 'them'} now.`,
        true, `Delete and resume ${n === 1 ? 'it' : 'them'}`];
    }
    return [`The window (${d.when}) is ${s.open ? 'open' : 'closed'}: once it is deleted, no replication in scope (${d.target}) is stopped outside it any more.`,
      false, 'Delete schedule'];
  }
  if (s.state === 'fired') {
    return [`“${d.what}” for ${d.target} fired at ${utc(s.fired_at)}: deleting it removes it from the list and undoes nothing.`,
      false, 'Delete schedule'];
  }
  return [`“${d.what}” for ${d.target} at ${d.when} has not happened yet: once the schedule is deleted, it will not happen.`,
    true, 'Delete schedule'];
}

export class ScheduleDeleteDialog extends ConfirmDialog {
  /// `describe(s)`: the words of a schedule, as the table shows them; `onDeleted(s)`: it is gone.
  constructor(api, { describe, onDeleted }) {
    super('schedule-delete');
    this.api = api;
    this.describe = describe;
    this.onDeleted = onDeleted;
  }

  open(s) {
    this.schedule = s;
    const [text, warn, confirm] = consequence(s, this.describe(s));
    document.getElementById('schedule-delete-title').textContent = `Delete schedule ${s.id}`;
    const what = document.getElementById('schedule-delete-what');
    what.textContent = text;
    what.className = warn ? 'warning' : '';
    this.confirm.textContent = confirm;
    this.show();
  }

  async send() {
    const { id } = this.schedule;
    const removed = await this.run(`Deleting schedule ${id}`, () =>
      this.api.delete(`/schedules/${encodeURIComponent(id)}`).catch((err) => {
        if (err.status === 404) return { id };  // gone already (another operator, a restart): as asked
        throw err;
      }));
    if (removed) this.onDeleted(removed);
  }
}
