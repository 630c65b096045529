#include "core/store_url.h"

#include <gtest/gtest.h>

#include <string>

namespace mailwarden {
namespace {

TEST(StoreKindOfTest, FromTheSchemeAlone) {
  struct Case {
    std::string url;
    StoreKind want;
  };
  const Case cases[] = {
      {"sqlite:var/mailwarden.db", StoreKind::kSqlite},
      {"sqlite:/var/lib/mailwarden/mailwarden.db", StoreKind::kSqlite},
      {"sqlite:", StoreKind::kSqlite},  // kind known; the path is checked by the caller
      {"postgresql://mw@db:5432/mailwarden", StoreKind::kPostgresql},
      {"postgres://mw@db/mailwarden", StoreKind::kPostgresql},
      {"postgresql:///mailwarden?host=/run/postgresql", StoreKind::kPostgresql},
      {"postgresql:mailwarden", StoreKind::kUnknown},
      {"mysql://db/mailwarden", StoreKind::kUnknown},
      {"SQLITE:x.db", StoreKind::kUnknown},
      {"var/mailwarden.db", StoreKind::kUnknown},
      {"", StoreKind::kUnknown},
  };
  for (const Case& c : cases) EXPECT_EQ(StoreKindOf(c.url), c.want) << c.url;
}

}  // namespace
}  // namespace mailwarden
