// For tests only: TempDir, a temporary folder of a test's own, removed with all it holds when
// destroyed. Every unit test that needs files (databases, spools, maildirs, sockets) makes
// them in one of these, so that tests running at once never share a folder and none is left
// behind.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace mailwarden::testing {

class TempDir {
 public:
  // Creates <tmp>/<prefix>.XXXXXX (mode 0700), <tmp> being $TMPDIR or /tmp; aborts if it
  // cannot (a test cannot go on without it).
  explicit TempDir(std::string_view prefix) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / (std::string(prefix) + ".XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace mailwarden::testing
