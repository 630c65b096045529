#include "http/static_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "http/http_server.h"
#include "testing/temp_dir.h"

namespace mailwarden {
namespace {

class StaticFilesTest : public ::testing::Test {
 protected:
  // The panel's folder, and beside it a file that must never be served.
  void SetUp() override {
    std::filesystem::create_directories(root_ / "assets");
    std::ofstream(root_ / "index.html") << "<!doctype html><title>panel</title>";
    std::ofstream(root_ / "assets" / "app-1a2b.js") << "console.log(1)";
    std::ofstream(temp_dir_.path() / "mw_secret") << "secret";
  }
  HttpResponse Get(std::string_view target) {
    auto r = ParseTarget(target);
    EXPECT_TRUE(r.has_value()) << target;
    r->method = "GET";
    return StaticFiles(root_).Serve(*r);
  }
  testing::TempDir temp_dir_{"mw_static_files_test"};
  const std::filesystem::path root_ = temp_dir_.path() / "panel";
};

TEST_F(StaticFilesTest, ServesIndexAndAssets) {
  auto index = Get("/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(index.body, "<!doctype html><title>panel</title>");
  auto js = Get("/assets/app-1a2b.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
}

TEST_F(StaticFilesTest, NeverLeavesTheFolder) {
  const std::string secret = "mw_secret";
  const std::vector<std::string> targets = {
      "/../" + secret, "/%2e%2e/" + secret,    "/assets/..%2f..%2f" + secret,
      "/.hidden",      "/assets//app-1a2b.js", "/missing.js"};
  for (const std::string& target : targets) {
    EXPECT_EQ(Get(target).status, 404) << target;
  }
}

}  // namespace
}  // namespace mailwarden
