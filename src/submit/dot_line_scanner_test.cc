#include "submit/dot_line_scanner.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace mailwarden {
namespace {

struct Scanned {
  std::string message;
  bool ended = false;
};

// Feeds the chunks in order, as the drop-in reads them, and joins what belongs to the message.
Scanned ScanChunks(const std::vector<std::string_view>& chunks) {
  DotLineScanner scanner;
  Scanned out;
  for (std::string_view chunk : chunks) {
    DotLineScanner::Part part = scanner.Scan(TextView(chunk.data(), chunk.size()));
    out.message.append(part.released.data(), part.released.size());
    out.message.append(chunk.substr(0, part.length));
    if (part.ended) {
      out.ended = true;
      break;
    }
  }
  return out;
}

std::string Show(const std::vector<std::string_view>& chunks) {
  std::string out;
  for (std::string_view chunk : chunks) {
    out += "[";
    for (char c : chunk) {
      out += c == '\n' ? "\\n" : c == '\r' ? "\\r" : std::string(1, c);
    }
    out += "]";
  }
  return out;
}

struct ScanCase {
  std::vector<std::string_view> chunks;
  std::string_view message;
  bool ended;
};

TEST(DotLineScanner, EndsTheMessageAtALineHoldingOnlyADot) {
  const ScanCase cases[] = {
      // Whole lines in one chunk.
      {{"a\n.\nb\n"}, "a\n", true},
      {{"a\r\n.\r\nb\r\n"}, "a\r\n", true},
      {{".\n"}, "", true},
      {{".\r\n"}, "", true},
      {{"a\n.\n"}, "a\n", true},
      {{"a\n..\nb\n"}, "a\n..\nb\n", false},
      {{"a\n.x\n"}, "a\n.x\n", false},
      {{"a\n. \n"}, "a\n. \n", false},
      {{"a.\nb\n"}, "a.\nb\n", false},
      {{"a\n.\r\r\n"}, "a\n.\r\r\n", false},
      {{"a\n.\rx\n"}, "a\n.\rx\n", false},
      {{"no dot line\n"}, "no dot line\n", false},
      {{""}, "", false},
      // A "." line split across chunks.
      {{"a\n", ".", "\nb\n"}, "a\n", true},
      {{"a\n.", "\nb\n"}, "a\n", true},
      {{"a\n.", "\r", "\nb\n"}, "a\n", true},
      {{"a\n.\r", "\nb\n"}, "a\n", true},
      {{"a", "\n", ".", "\r", "\n", "b"}, "a\n", true},
      // A held-back dot that turns out to be text.
      {{"a\n.", ".\n"}, "a\n..\n", false},
      {{"a\n.", "x\n"}, "a\n.x\n", false},
      {{"a\n.\r", "x\n"}, "a\n.\rx\n", false},
      {{"a\n.", "\r", "x\n"}, "a\n.\rx\n", false},
      {{"a\n.\r", "\r\n"}, "a\n.\r\r\n", false},
      {{"a\n.", "x\n.", "\nb\n"}, "a\n.x\n", true},
      {{"a\n.", "x\n.\n"}, "a\n.x\n", true},
      // The end of input right after a "." line's start: the dot ends the message.
      {{"a\n."}, "a\n", false},
      {{"a\n.\r"}, "a\n", false},
      {{"a\n", "."}, "a\n", false},
      {{"."}, "", false},
      // Lines split elsewhere.
      {{"ab", "c\n", "de"}, "abc\nde", false},
      {{"a\n", "b.", "\n"}, "a\nb.\n", false},
  };
  for (const ScanCase& c : cases) {
    Scanned scanned = ScanChunks(c.chunks);
    EXPECT_EQ(scanned.message, c.message) << Show(c.chunks);
    EXPECT_EQ(scanned.ended, c.ended) << Show(c.chunks);
  }
}

TEST(DotLineScanner, AnyChunkingGivesTheSameMessage) {
  const std::string_view input = "Subject: x\r\n\r\n.a\n..\r\n.\rb\n.\r\n\r\nafter\n";
  const std::string_view message = "Subject: x\r\n\r\n.a\n..\r\n.\rb\n";
  for (std::size_t first = 0; first <= input.size(); ++first) {
    for (std::size_t second = first; second <= input.size(); ++second) {
      std::vector<std::string_view> chunks = {
          input.substr(0, first), input.substr(first, second - first), input.substr(second)};
      Scanned scanned = ScanChunks(chunks);
      EXPECT_EQ(scanned.message, message) << Show(chunks);
      EXPECT_TRUE(scanned.ended) << Show(chunks);
    }
  }
}

}  // namespace
}  // namespace mailwarden
