#include "http/http_server.h"

#include <gtest/gtest.h>

namespace mailwarden {
namespace {

TEST(ParseTarget, SplitsPathAndQuery) {
  auto r = ParseTarget("/api/v1/accounts/demo/email/errors?since=2026-11-01&limit=20");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->path, "/api/v1/accounts/demo/email/errors");
  EXPECT_EQ(r->segments,
            (std::vector<std::string>{"api", "v1", "accounts", "demo", "email", "errors"}));
  EXPECT_EQ(r->query.at("since"), "2026-11-01");
  EXPECT_EQ(r->query.at("limit"), "20");
}

TEST(ParseTarget, DecodesEscapes) {
  auto r = ParseTarget("/a%2Fb/c?q=hello+world%21&x=");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->segments, (std::vector<std::string>{"a/b", "c"}));
  EXPECT_EQ(r->query.at("q"), "hello world!");
  EXPECT_EQ(r->query.at("x"), "");
}

TEST(ParseTarget, RefusesMalformedTargets) {
  for (std::string_view bad : {"", "relative", "/a%2", "/a%zz", "/a%00b", "/x?q=%4", "/x?q=%00"}) {
    EXPECT_FALSE(ParseTarget(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace mailwarden
