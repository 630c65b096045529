#include "http/account_file.h"

#include <gtest/gtest.h>

namespace mailwarden {
namespace {

using nlohmann::json;

TEST(AccountFile, CsvRowsFollowTheHeaderAndKeepTheirLines) {
  auto rows = ParseAccountFile(
      "# accounts\n"
      "name,uids,report_to,max_per_day,delete\r\n"
      "\n"
      "alpha,1001 1002,\"Owner, A <a@example.com>\",500,\n"
      "beta,2001;2002,,,\n"
      "gamma,,,,yes\n");
  ASSERT_TRUE(rows.has_value()) << rows.error().message;
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].line, 4);
  EXPECT_EQ((*rows)[0].row, (json{{"name", "alpha"},
                                  {"uids", {1001, 1002}},
                                  {"report_to", "Owner, A <a@example.com>"},
                                  {"max_per_day", 500}}));
  EXPECT_EQ((*rows)[1].row, (json{{"name", "beta"}, {"uids", {2001, 2002}}}));
  EXPECT_EQ((*rows)[2].row, (json{{"name", "gamma"}, {"delete", true}}));
}

TEST(AccountFile, JsonLinesAreTakenAsTheyAre) {
  auto rows = ParseAccountFile("{\"name\": \"a\", \"uids\": [1]}\n\n{\"name\": \"b\"}\n");
  ASSERT_TRUE(rows.has_value()) << rows.error().message;
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[1].line, 3);
  EXPECT_EQ((*rows)[1].row, (json{{"name", "b"}}));
}

TEST(AccountFile, WhatCannotBeReadIsNamedWithItsLine) {
  const struct {
    const char* text;
    const char* says;
  } kCases[] = {
      {"name,uid\nalpha,1\n", "line 1: unknown column \"uid\""},
      {"uids\n1\n", "line 1: the header has no \"name\" column"},
      {"name,uids\nalpha,1,2\n", "line 2: 3 cells where the header names 2"},
      {"name,uids\nalpha,x\n", "line 2: uids must be numbers"},
      {"name,max_per_day\nalpha,lots\n", "line 2: max_per_day must be a number"},
      {"name\n\"alpha\n", "line 2: a quote is open"},
      {"{\"name\": \"a\"}\n[1]\n", "line 2: not a JSON object"},
  };
  for (const auto& c : kCases) {
    auto rows = ParseAccountFile(c.text);
    ASSERT_FALSE(rows.has_value()) << c.text;
    EXPECT_NE(rows.error().message.find(c.says), std::string::npos)
        << c.text << " -> " << rows.error().message;
  }
}

}  // namespace
}  // namespace mailwarden
