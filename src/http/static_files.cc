#include "http/static_files.h"

#include <fstream>
#include <sstream>

namespace mailwarden {

StaticFiles::StaticFiles(std::filesystem::path root) : root_(std::move(root)) {}

const char* ContentTypeFor(const std::filesystem::path& file) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".json", "application/json"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".map", "application/json"},
  };
  const std::string ext = file.extension().string();
  for (const auto& [e, type] : kTypes) {
    if (ext == e) return type;
  }
  return "application/octet-stream";
}

HttpResponse StaticFiles::Serve(const HttpRequest& request) const {
  if (request.method != "GET" && request.method != "HEAD") {
    return HttpResponse::ErrorWith(405, "method_not_allowed", "Use GET here.");
  }
  std::filesystem::path relative;
  for (const std::string& segment : request.segments) {
    // No "..", no hidden files, no separators smuggled inside a decoded segment.
    if (segment.empty() || segment.front() == '.' || segment.find('/') != std::string::npos ||
        segment.find('\\') != std::string::npos) {
      return HttpResponse::ErrorWith(404, "not_found", "There is nothing at this address.");
    }
    relative /= segment;
  }
  if (relative.empty()) relative = "index.html";
  const std::filesystem::path file = root_ / relative;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    return HttpResponse::ErrorWith(404, "not_found", "There is nothing at this address.");
  }
  std::ifstream in(file, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  if (!in.good() && !in.eof()) {
    return HttpResponse::ErrorWith(500, "internal", "The file could not be read.");
  }
  HttpResponse r;
  r.status = 200;
  r.content_type = ContentTypeFor(file);
  r.body = request.method == "HEAD" ? std::string() : content.str();
  // Built assets carry a content hash in their names; the page that names them must not be
  // cached, so a new build shows at once.
  const bool hashed = relative.parent_path() == "assets";
  r.headers.emplace_back("Cache-Control",
                         hashed ? "public, max-age=31536000, immutable" : "no-store");
  // The panel loads nothing from elsewhere and is never framed.
  r.headers.emplace_back(
      "Content-Security-Policy",
      "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
      "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  return r;
}

}  // namespace mailwarden
