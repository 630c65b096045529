// Finds sendmail's end of message in a stream read in chunks: a line holding only ".", ended by
// LF, CRLF or the end of input. Library-free: the sendmail drop-in links it.
#pragma once

#include <stddef.h>

#include "submit/text_view.h"

namespace mailwarden {

// Chunks may split the "." line anywhere, so a "." (or ".\r") at the start of a line is held
// back until the next byte tells whether it ends the message. Nothing is copied: what belongs
// to the message is the held-back bytes of earlier chunks, then a prefix of the chunk.
class DotLineScanner {
 public:
  struct Part {
    TextView released;   // bytes held back from earlier chunks that turned out to be text
    size_t length = 0;   // then the chunk's first length bytes
    bool ended = false;  // the "." line was seen: nothing after it is part of the message
  };

  // Scans the next chunk of the input. Once a Part says ended, Scan must not be called again.
  // At the end of input, bytes still held back (a "." or ".\r" line without its end) are the
  // end-of-message line, not text.
  Part Scan(TextView chunk);

 private:
  enum class State { kLineStart, kInLine, kDot, kDotCr };
  State state_ = State::kLineStart;
};

}  // namespace mailwarden
