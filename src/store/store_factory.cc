// OpenStore: picks the Store implementation from the url's scheme.
#include <fmt/format.h>

#include <filesystem>
#include <system_error>

#include "core/store_url.h"
#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"

namespace mailwarden {

Result<std::vector<MessageId>> Store::InsertMessages(std::span<const NewMessage> messages) {
  MW_ASSIGN_OR_RETURN(InsertedBatch batch, InsertMessages(messages, ArrivalLease{}));
  std::vector<MessageId> ids;
  ids.reserve(batch.messages.size());
  for (const InsertedMessage& m : batch.messages) ids.push_back(m.id);
  return ids;
}

Result<std::unique_ptr<Store>> OpenStore(std::string_view url, const StoreOptions& options) {
  switch (StoreKindOf(url)) {
    case StoreKind::kSqlite: {
      const std::filesystem::path path(url.substr(kSqliteUrlPrefix.size()));
      if (path.empty()) {
        return Fail(ErrorCode::kInvalidInput, "store url 'sqlite:' names no database file");
      }
      if (path.has_parent_path()) {
        std::error_code error;
        std::filesystem::create_directories(path.parent_path(), error);
        if (error) {
          return Fail(ErrorCode::kUnavailable,
                      fmt::format("{}: cannot create the folder: {}", path.parent_path().string(),
                                  error.message()));
        }
      }
      auto store = SqliteStore::Open(path);
      if (!store) return std::unexpected(std::move(store).error());
      (*store)->SetOptions(options);
      return std::unique_ptr<Store>(std::move(*store));
    }
    case StoreKind::kPostgresql: {
      auto store = PgStore::Open(url);
      if (!store) return std::unexpected(std::move(store).error());
      (*store)->SetOptions(options);
      return std::unique_ptr<Store>(std::move(*store));
    }
    case StoreKind::kUnknown:
      break;
  }
  // Only the scheme is quoted back: the rest of a url may hold a password.
  const auto colon = url.find(':');
  if (colon == std::string_view::npos) {
    return Fail(ErrorCode::kInvalidInput,
                "store url has no scheme: use sqlite:PATH or postgresql://...");
  }
  return Fail(ErrorCode::kInvalidInput,
              fmt::format("store url scheme '{}' is not known: use sqlite:PATH or "
                          "postgresql://...",
                          url.substr(0, colon)));
}

}  // namespace mailwarden
