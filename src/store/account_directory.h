// AccountDirectory: which account a submitting uid belongs to, answered from memory.
//
// Every submission needs this answer before its message is prepared. Asking the store each
// time costs a round trip through the store thread, which waits behind the group commit in
// progress; the mapping changes rarely, so a positive answer is kept for `ttl` (a uid moved
// to another account, or an account added by another node, is seen within ttl). A uid with
// no account is never cached: an account created a moment ago works at once.
//
// Used on the daemon's io_context only (not thread-safe).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>

#include "store/store_runner.h"

namespace mailwarden {

struct AccountRef {
  AccountId id = 0;
  std::string name;
};

class AccountDirectory {
 public:
  explicit AccountDirectory(StoreRunner& store,
                            std::chrono::steady_clock::duration ttl = std::chrono::seconds(10));

  // The uid's account, or nullopt if it has none; an Error when the store cannot answer.
  boost::asio::awaitable<Result<std::optional<AccountRef>>> FindByUid(Uid uid);

  // Drops what is remembered: call after accounts or their uids change in this process.
  void Forget() { by_uid_.clear(); }

 private:
  struct Entry {
    AccountRef account;
    std::chrono::steady_clock::time_point looked_up;
  };
  StoreRunner& store_;
  const std::chrono::steady_clock::duration ttl_;
  std::unordered_map<Uid, Entry> by_uid_;
};

}  // namespace mailwarden
