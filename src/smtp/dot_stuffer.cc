#include "smtp/dot_stuffer.h"

#include <algorithm>

#include "smtp/line_break.h"

namespace mailwarden {

bool DotStuffer::Next(std::string& chunk, std::size_t max_bytes) {
  chunk.clear();
  while (!done_ && chunk.size() < max_bytes) {
    if (pos_ == body_.size()) {
      if (!line_start_) chunk += "\r\n";
      chunk += ".\r\n";
      done_ = true;
      break;
    }
    const char c = body_[pos_];
    if (c == '\r' || c == '\n') {
      ++pos_;
      if (c == '\r' && pos_ < body_.size() && body_[pos_] == '\n') ++pos_;
      chunk += "\r\n";
      line_start_ = true;
      line_bytes_ = 0;
      continue;
    }
    if (line_start_ && c == '.') chunk += '.';
    line_start_ = false;
    if (line_bytes_ == kMaxWireLineBytes) {
      chunk += "\r\n ";
      line_bytes_ = 1;
    }
    const std::size_t end = FindLineBreak(body_, pos_);
    const std::size_t room = chunk.size() < max_bytes ? max_bytes - chunk.size() : 1;
    const std::size_t take = std::min({end - pos_, room, kMaxWireLineBytes - line_bytes_});
    chunk.append(body_.substr(pos_, take));
    pos_ += take;
    line_bytes_ += take;
  }
  return !chunk.empty();
}

std::string DotStuffer::Stuff(std::string_view body) {
  DotStuffer stuffer(body);
  std::string out;
  std::string chunk;
  while (stuffer.Next(chunk, 64 * 1024)) out += chunk;
  return out;
}

}  // namespace mailwarden
