#include "core/account_name.h"

#include <gtest/gtest.h>

#include <string>

namespace mailwarden {
namespace {

TEST(AccountNameTest, ValidAndReservedNames) {
  struct Case {
    std::string name;
    bool valid;
    bool reserved;
  };
  const Case cases[] = {
      {"demo", true, false},
      {"shop-1.example_eu", true, false},
      {"a", true, false},
      {std::string(64, 'x'), true, false},
      {std::string(65, 'x'), false, false},
      {"", false, false},
      {"_mailwarden", false, true},
      {"_", false, true},
      {"Demo", false, false},
      {"de mo", false, false},
      {"demo/..", false, false},
      {"d\xC3\xA9mo", false, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(IsValidAccountName(c.name), c.valid) << c.name;
    EXPECT_EQ(IsReservedAccountName(c.name), c.reserved) << c.name;
  }
  EXPECT_TRUE(IsReservedAccountName(kSystemAccountName));
}

}  // namespace
}  // namespace mailwarden
