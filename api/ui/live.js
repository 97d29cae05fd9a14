// The live feed: /api/v1/events as Server-Sent Events. The browser's EventSource reconnects by
// itself after a network error; when it gives up (the server answered with an error, or was
// restarted and refused the first try) this opens a new one, waiting longer each time.
// Every (re)connection starts with onOpen, so that the page reloads the list once and misses
// nothing that changed while it was away.

export function connectLive({ token, onOpen, onJob, onRemoved, onMaintenance, onSchedules, onStatus, onClosed }) {
  let source = null;
  let delay = 1000;
  let timer = null;

  const open = () => {
    timer = null;
    source = new EventSource(`/api/v1/events?access_token=${encodeURIComponent(token)}`);
    source.addEventListener('open', () => {
      delay = 1000;
      onStatus('live');
      onOpen();
    });
    source.addEventListener('job', (e) => onJob(JSON.parse(e.data)));
    source.addEventListener('removed', (e) => onRemoved(JSON.parse(e.data).id));
    source.addEventListener('maintenance', (e) => onMaintenance(JSON.parse(e.data)));
    // The whole list of schedules, after every change of any of them.
    source.addEventListener('schedules', (e) => onSchedules(JSON.parse(e.data)));
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        onStatus('down', delay);
        timer = setTimeout(open, delay);
        delay = Math.min(delay * 2, 15000);
        if (onClosed) onClosed();
      } else {
        onStatus('reconnecting');
      }
    });
  };
  open();

  return {
    close() {
      if (timer) clearTimeout(timer);
      if (source) source.close();
    },
  };
}
