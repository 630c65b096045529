#include "submit/dot_line_scanner.h"

#include <string.h>

namespace mailwarden {

DotLineScanner::Part DotLineScanner::Scan(TextView chunk) {
  Part part;
  // A "." line candidate, its first byte at dot_start of this chunk, or held from before.
  const TextView held = state_ == State::kDot ? TextView(".") : TextView(".\r");
  bool pending_from_before = state_ == State::kDot || state_ == State::kDotCr;
  size_t dot_start = 0;
  auto release = [&] {
    if (pending_from_before) {
      part.released = held;
      pending_from_before = false;
    }
    state_ = State::kInLine;
  };
  auto withhold_from = [&](size_t end) { part.length = pending_from_before ? 0 : end; };

  size_t i = 0;
  while (i < chunk.size()) {
    switch (state_) {
      case State::kInLine: {
        const void* newline = memchr(chunk.data() + i, '\n', chunk.size() - i);
        if (newline == nullptr) {
          i = chunk.size();
          break;
        }
        i = static_cast<size_t>(static_cast<const char*>(newline) - chunk.data()) + 1;
        state_ = State::kLineStart;
        break;
      }
      case State::kLineStart:
        if (chunk[i] == '.') {
          state_ = State::kDot;
          dot_start = i;
          ++i;
        } else {
          state_ = State::kInLine;
        }
        break;
      case State::kDot:
      case State::kDotCr:
        if (chunk[i] == '\n') {
          withhold_from(dot_start);
          part.ended = true;
          return part;
        }
        if (state_ == State::kDot && chunk[i] == '\r') {
          state_ = State::kDotCr;
          ++i;
        } else {
          release();
        }
        break;
    }
  }
  if (state_ == State::kDot || state_ == State::kDotCr) {
    withhold_from(dot_start);
  } else {
    part.length = chunk.size();
  }
  return part;
}

}  // namespace mailwarden
