// Serves the panel's built assets (web/dist) from one folder: GET and HEAD only, no path may
// leave the folder, "/" is index.html. Files are read at request time (a rebuilt panel shows
// without a restart); they are small.
#pragma once

#include <filesystem>

#include "http/http_types.h"

namespace mailwarden {

class StaticFiles {
 public:
  explicit StaticFiles(std::filesystem::path root);

  HttpResponse Serve(const HttpRequest& request) const;

 private:
  std::filesystem::path root_;
};

// The Content-Type for a file name's extension; application/octet-stream when unknown.
const char* ContentTypeFor(const std::filesystem::path& file);

}  // namespace mailwarden
