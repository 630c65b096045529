// Finding the end of a line in mail text, where CR and LF may each appear alone.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string_view>

namespace mailwarden {

// The position of the first CR or LF in text at or after from, or text.size() if there is
// none. Two memchr calls per stretch: std::string_view::find_first_of("\r\n") instead tests
// each byte against the set with a call of its own, which made it a tenth of the SMTP
// listener's time. The stretch starts small and doubles, so a call reads about twice the
// bytes up to the break, never the rest of the text: called once per line, over text whose
// lines end in bare CRs (no LF anywhere after them), a search for LF through all the rest
// would make the work grow with the square of the input.
inline std::size_t FindLineBreak(std::string_view text, std::size_t from) {
  std::size_t stretch = 128;
  for (std::size_t at = from; at < text.size(); at += stretch, stretch *= 2) {
    const char* begin = text.data() + at;
    const std::size_t length = std::min(stretch, text.size() - at);
    const char* lf = static_cast<const char*>(std::memchr(begin, '\n', length));
    const std::size_t before_lf = lf != nullptr ? static_cast<std::size_t>(lf - begin) : length;
    if (const void* cr = std::memchr(begin, '\r', before_lf)) {
      return static_cast<std::size_t>(static_cast<const char*>(cr) - text.data());
    }
    if (lf != nullptr) return static_cast<std::size_t>(lf - text.data());
  }
  return text.size();
}

}  // namespace mailwarden
