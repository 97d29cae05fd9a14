#pragma once

#include "messages/catalogue.hpp"

namespace mk::msg::test {

/// One filled-in example of every message of the catalogue, every field set to something other
/// than its default, so that a field lost on the way shows.
inline any_message sample(std::size_t index) {
  header h{"m-42", 1795910400123, "vma:local"};
  mover_info m1{"r-1", 4242, mover_state::running, 1 << 20, -1, "adopted"};
  mover_info m2{"r-2", 4343, mover_state::exited, 7, 3, "exit 3"};
  switch (index) {
    case 0:
      return stop_request{h,
                          "r-7f3a9c21",
                          "s-91ab",
                          stop_mode::force,
                          volume_action::remove,
                          stop_reason::maintenance,
                          "window closed",
                          45,
                          "vma_process",
                          "local"};
    case 1:
      return stop_confirm{h,
                          "r-7f3a9c21",
                          "s-91ab",
                          participant::vma_process,
                          outcome::killed,
                          "SIGKILL after 30 s",
                          true};
    case 2:
      return progress{h,         "r-1", progress_state::exited,  1ull << 33, 1ull << 34, 12345,
                      104857600, 1,     "exit 1: target: ENOSPC"};
    case 3:
      return job_state_changed{h, "r-1", job_state::failed, "s-1", "stop_unconfirmed: volume"};
    case 4:
      return start_mover{
          h, "r-1", "nbd+unix:///?socket=/run/src.sock", "/srv/v-1.img", "/srv/v-1.ckpt", true};
    case 5:
      return start_mover_reply{h, "r-1", true, 31337, "none"};
    case 6:
      return probe_source{h, "r-1", "nbd+unix:///?socket=/run/src.sock"};
    case 7:
      return probe_reply{h, "r-1", true, 2147483648, ""};
    case 8:
      return vma_status_request{h};
    case 9:
      return vma_status{{h, "local", {m1, m2}, "", ""}};  // an older agent: no host, version
    case 10:
      return hello{{h, "local", {m2}, "vma-host-1", "0.1.0"}};
    case 11:
      return maintenance{h, true, "kernel upgrade", "vma:local", true, 8};
    case 12:
      return replicate_request{h, "web-01 disk 0", "nbd+unix:///?socket=/run/src.sock", "local"};
    case 13:
      return resume_request{h, "r-1"};
    default:
      return control_reply{h, true, "r-1", "queued", "s-1", "conflict", "job r-1 is completed"};
  }
}

constexpr std::size_t sample_count = std::variant_size_v<any_message>;

}  // namespace mk::msg::test
