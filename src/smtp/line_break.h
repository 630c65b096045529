// Finding the end of a line in mail text, where CR and LF may each appear alone.
#pragma once

#include <cstddef>
#include <cstring>
#include <string_view>

namespace mailwarden {

// The position of the first CR or LF in text at or after from, or text.size() if there is
// none. Two memchr calls per line: std::string_view::find_first_of("\r\n") instead tests each
// byte against the set with a call of its own, which made it a tenth of the SMTP listener's
// time.
inline std::size_t FindLineBreak(std::string_view text, std::size_t from) {
  if (from >= text.size()) return text.size();
  const char* begin = text.data() + from;
  std::size_t length = text.size() - from;
  if (const void* lf = std::memchr(begin, '\n', length)) {
    length = static_cast<std::size_t>(static_cast<const char*>(lf) - begin);
  }
  const void* cr = std::memchr(begin, '\r', length);
  const char* end = cr != nullptr ? static_cast<const char*>(cr) : begin + length;
  return static_cast<std::size_t>(end - text.data());
}

}  // namespace mailwarden
