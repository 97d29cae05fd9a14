#include "nbd/nbd_handles.hpp"

#include <libnbd.h>

namespace mk::nbd {

pollfd poll_entry(nbd_handle* h) {
  const auto dir = nbd_aio_get_direction(h);
  short events = 0;
  if (dir & LIBNBD_AIO_DIRECTION_READ) events |= POLLIN;
  if (dir & LIBNBD_AIO_DIRECTION_WRITE) events |= POLLOUT;
  return pollfd{nbd_aio_get_fd(h), events, 0};
}

int notify(nbd_handle* h, short revents) {
  if (revents & (POLLIN | POLLHUP | POLLERR)) return nbd_aio_notify_read(h);
  if (revents & POLLOUT) return nbd_aio_notify_write(h);
  return 0;
}

void disconnect_all(const std::vector<nbd_handle*>& handles,
                    std::chrono::steady_clock::time_point deadline) {
  using clock = std::chrono::steady_clock;
  std::vector<nbd_handle*> closing;
  for (auto* h : handles)
    if (h && nbd_aio_is_ready(h) == 1 && nbd_aio_disconnect(h, 0) != -1) closing.push_back(h);
  for (auto* h : closing) {
    while (nbd_aio_is_closed(h) != 1 && nbd_aio_is_dead(h) != 1) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
      if (left.count() <= 0 || nbd_poll(h, static_cast<int>(left.count())) == -1) break;
    }
  }
}

}  // namespace mk::nbd
