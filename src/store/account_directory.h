// AccountDirectory: which account a submitting uid belongs to, and which account a sender
// domain belongs to (the From check), answered from memory.
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

  // The account owning a normalised domain name (Store::FindDomainOwner: the name or its
  // nearest listed parent), or nullopt if none does; an Error when the store cannot answer.
  // Both answers are kept for ttl (a domain added through this process's API is seen at
  // once: it calls Forget; one added on another node within ttl).
  boost::asio::awaitable<Result<std::optional<AccountId>>> FindDomainOwner(std::string domain);

  // Drops what is remembered: call after accounts, their uids or domains change in this
  // process.
  void Forget() {
    by_uid_.clear();
    by_domain_.clear();
  }

 private:
  struct Entry {
    AccountRef account;
    std::chrono::steady_clock::time_point looked_up;
  };
  StoreRunner& store_;
  const std::chrono::steady_clock::duration ttl_;
  std::unordered_map<Uid, Entry> by_uid_;
  struct DomainEntry {
    std::optional<AccountId> owner;
    std::chrono::steady_clock::time_point looked_up;
  };
  // Bounded: past kMaxDomains names (a script trying random From domains) it starts afresh.
  static constexpr std::size_t kMaxDomains = 100'000;
  std::unordered_map<std::string, DomainEntry> by_domain_;
};

}  // namespace mailwarden
