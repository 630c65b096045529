// AccountDirectory: which account a submitting uid belongs to, and which account a sender
// domain belongs to (the From check), answered from memory.
//
// Every submission needs this answer before its message is prepared. Asking the store each
// time costs a round trip through the store thread, which waits behind the group commit in
// progress; the mapping changes rarely, so a positive answer is kept for `ttl` (a uid moved
// to another account, or an account added by another node, is seen within ttl). A uid with
// no account is never cached: an account created a moment ago works at once.
//
// With automatic accounts on (auto_accounts.uids), a uid of that range with no account gets
// one on its first mail, named after its entry in the system's user database, which is asked
// on a thread of its own (a directory service may be slow; the daemon's thread never waits
// for it). A uid the database does not know, whose name is not a valid account name, or whose
// name an account already has, gets none: that is logged, and remembered for `ttl` so that
// its scripts' every mail does not ask again.
//
// Used on the daemon's io_context only (not thread-safe).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "store/store_runner.h"

namespace mailwarden {

struct AccountRef {
  AccountId id = 0;
  std::string name;
};

// Which uids get an account of their own on their first mail (uid_min 0: none).
struct AutoAccountRule {
  Uid uid_min = 0;
  Uid uid_max = 0;
  std::string language = "en";

  bool Covers(Uid uid) const { return uid_min != 0 && uid >= uid_min && uid <= uid_max; }
};

// The user name of a uid in the system's user database, or nullopt when it has none. May
// block (NSS: files, LDAP, sssd).
using UserNameLookup = std::function<std::optional<std::string>(Uid)>;

// getpwuid_r's answer: the UserNameLookup of the running system.
std::optional<std::string> PasswdUserName(Uid uid);

class AccountDirectory {
 public:
  explicit AccountDirectory(StoreRunner& store,
                            std::chrono::steady_clock::duration ttl = std::chrono::seconds(10));
  ~AccountDirectory();

  // Turns automatic accounts on (a rule covering some uids) or off; `clock` dates the
  // account's creation in its audit record. Call at start and after a reload.
  void SetAutoAccounts(AutoAccountRule rule, UserNameLookup lookup, const Clock& clock);

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
    refused_.clear();
  }

 private:
  struct Entry {
    AccountRef account;
    std::chrono::steady_clock::time_point looked_up;
  };
  // An account for `uid` from the user database, if the rule allows one.
  boost::asio::awaitable<Result<std::optional<AccountRef>>> MakeAccount(Uid uid);
  AccountRef Remember(Uid uid, const Account& account);
  void Refuse(Uid uid);

  StoreRunner& store_;
  const std::chrono::steady_clock::duration ttl_;
  std::unordered_map<Uid, Entry> by_uid_;

  AutoAccountRule auto_;
  UserNameLookup lookup_;
  const Clock* clock_ = nullptr;
  std::unique_ptr<boost::asio::thread_pool> lookups_;  // one thread, while auto_ covers uids
  // Uids of the range given no account, and when: not asked again within ttl_.
  std::unordered_map<Uid, std::chrono::steady_clock::time_point> refused_;
  struct DomainEntry {
    std::optional<AccountId> owner;
    std::chrono::steady_clock::time_point looked_up;
  };
  // Bounded: past kMaxDomains names (a script trying random From domains) it starts afresh.
  static constexpr std::size_t kMaxDomains = 100'000;
  std::unordered_map<std::string, DomainEntry> by_domain_;
};

}  // namespace mailwarden
