// The Delete dialog: its own warning, because unlike a stop it removes data.
import { jobPath } from './api.js';
import { ConfirmDialog } from './confirm_dialog.js';
import { bytes } from './format.js';

function warning(job) {
  const copied = job.progress ? bytes(job.progress.bytes_done) : 'the data';
  switch (job.state) {
    case 'completed':
      return `${job.name} completed: deleting removes the replication from the list. The migrated volume ${job.volume ? job.volume.id : ''} stays where it is.`;
    case 'cancelled':
      return `${job.name} was cancelled and its volume is gone: deleting removes it from the list.`;
    case 'stopped':
    case 'failed':
      return `Deleting ${job.name} removes its partial volume${job.volume ? ` ${job.volume.id}` : ''} with ${copied} copied so far. It cannot be resumed afterwards, and this cannot be undone.`;
    default:
      return `Deleting ${job.name} stops its copy now and removes its volume with ${copied} copied so far. This cannot be undone.`;
  }
}

export class DeleteDialog extends ConfirmDialog {
  constructor(api) {
    super('delete');
    this.api = api;
  }

  open(job) {
    this.job = job;
    document.getElementById('delete-title').textContent = `Delete replication “${job.name}”`;
    document.getElementById('delete-what').textContent = warning(job);
    this.confirm.textContent = job.state === 'completed' || job.state === 'cancelled'
      ? 'Delete from the list' : 'Delete the replication and its volume';
    this.show();
  }

  send() {
    return this.run(`Deleting ${this.job.name}`, () => this.api.delete(jobPath(this.job.id)));
  }
}
