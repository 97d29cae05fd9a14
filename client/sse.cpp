#include "client/sse.hpp"

namespace mk::client {

std::vector<sse_event> sse_parser::feed(std::string_view chunk) {
  std::vector<sse_event> out;
  std::size_t start = 0;
  if (after_cr_ && !chunk.empty() && chunk.front() == '\n')
    start = 1;  // the "\n" of a "\r\n" split across chunks: that line has been taken
  after_cr_ = false;
  for (std::size_t i = start; i < chunk.size(); ++i) {
    char c = chunk[i];
    if (c != '\n' && c != '\r') continue;
    partial_.append(chunk.substr(start, i - start));
    line(partial_, out);
    partial_.clear();
    if (c == '\r') {
      if (i + 1 == chunk.size())
        after_cr_ = true;
      else if (chunk[i + 1] == '\n')
        ++i;
    }
    start = i + 1;
  }
  partial_.append(chunk.substr(start));
  return out;
}

void sse_parser::line(std::string_view text, std::vector<sse_event>& out) {
  if (text.empty()) {
    if (has_data_) out.push_back({last_id_, type_.empty() ? "message" : type_, data_});
    type_.clear();
    data_.clear();
    has_data_ = false;
    return;
  }
  if (text.front() == ':') return;  // a comment: the server's keepalive
  auto colon = text.find(':');
  std::string_view field = text.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = text.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_) data_ += '\n';
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    type_ = value;
  } else if (field == "id" && value.find('\0') == std::string_view::npos) {
    last_id_ = value;
  }
}

}  // namespace mk::client
