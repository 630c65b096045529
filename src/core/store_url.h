// Which engine a store url names, from its scheme alone: "sqlite:PATH" or a libpq connection
// URI ("postgresql://..." or "postgres://...").
#pragma once

#include <string_view>

namespace mailwarden {

enum class StoreKind { kSqlite, kPostgresql, kUnknown };

inline constexpr std::string_view kSqliteUrlPrefix = "sqlite:";

// The engine url names; kUnknown for any other scheme or none. Only the scheme is looked at:
// a sqlite url's path may still be empty, a postgresql url may still fail to connect.
inline StoreKind StoreKindOf(std::string_view url) {
  if (url.starts_with(kSqliteUrlPrefix)) return StoreKind::kSqlite;
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    return StoreKind::kPostgresql;
  }
  return StoreKind::kUnknown;
}

}  // namespace mailwarden
