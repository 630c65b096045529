#include "store/account_directory.h"

#include <pwd.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <span>
#include <vector>

#include "core/account_name.h"

namespace mailwarden {
namespace {

namespace asio = boost::asio;

// Uids given no account, remembered at most: past it the memory starts again.
constexpr std::size_t kMaxRefusedUids = 10'000;

}  // namespace

std::optional<std::string> PasswdUserName(Uid uid) {
  long suggested = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(suggested > 0 ? static_cast<std::size_t>(suggested) : 16384);
  for (;;) {
    passwd entry{};
    passwd* found = nullptr;
    const int error = ::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found);
    if (error == ERANGE && buffer.size() < (1u << 20)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (error != 0 || found == nullptr || found->pw_name == nullptr) return std::nullopt;
    return std::string(found->pw_name);
  }
}

AccountDirectory::AccountDirectory(StoreRunner& store, std::chrono::steady_clock::duration ttl)
    : store_(store), ttl_(ttl) {}

AccountDirectory::~AccountDirectory() {
  if (lookups_) lookups_->join();
}

void AccountDirectory::SetAutoAccounts(AutoAccountRule rule, UserNameLookup lookup,
                                       const Clock& clock) {
  auto_ = std::move(rule);
  lookup_ = std::move(lookup);
  clock_ = &clock;
  refused_.clear();
  if (auto_.uid_min != 0 && !lookups_) lookups_ = std::make_unique<asio::thread_pool>(1);
}

boost::asio::awaitable<Result<std::optional<AccountRef>>> AccountDirectory::FindByUid(Uid uid) {
  const auto now = std::chrono::steady_clock::now();
  if (auto it = by_uid_.find(uid); it != by_uid_.end() && now - it->second.looked_up < ttl_) {
    co_return it->second.account;
  }
  std::function<Result<std::optional<Account>>(Store&)> find = [uid](Store& s) {
    return s.FindAccountByUid(uid);
  };
  auto found = co_await store_.AsyncRun(std::move(find), asio::use_awaitable);
  if (!found) co_return std::unexpected(found.error());
  if (*found) co_return Remember(uid, **found);
  by_uid_.erase(uid);
  if (!auto_.Covers(uid) || !lookups_) co_return std::nullopt;
  if (auto it = refused_.find(uid); it != refused_.end() && now - it->second < ttl_) {
    co_return std::nullopt;
  }
  co_return co_await MakeAccount(uid);
}

AccountRef AccountDirectory::Remember(Uid uid, const Account& account) {
  AccountRef ref{account.id, account.name};
  by_uid_[uid] = Entry{ref, std::chrono::steady_clock::now()};
  return ref;
}

void AccountDirectory::Refuse(Uid uid) {
  if (refused_.size() >= kMaxRefusedUids) refused_.clear();
  refused_[uid] = std::chrono::steady_clock::now();
}

boost::asio::awaitable<Result<std::optional<AccountRef>>> AccountDirectory::MakeAccount(Uid uid) {
  // The user database is asked on the lookup thread; the answer comes back here.
  const UserNameLookup lookup = lookup_;
  auto ask = [lookup, uid]() -> asio::awaitable<std::optional<std::string>> {
    co_return lookup(uid);
  };
  const std::optional<std::string> name =
      co_await asio::co_spawn(*lookups_, ask, asio::use_awaitable);
  if (!name) {
    spdlog::warn(
        "accounts: uid={} result=refused reason=\"in auto_accounts.uids, but the user "
        "database has no user of this uid\"",
        uid);
    Refuse(uid);
    co_return std::nullopt;
  }
  if (!IsValidAccountName(*name)) {
    // Not logged as it is: a name that breaks the rule may hold anything.
    spdlog::warn(
        "accounts: uid={} result=refused reason=\"its user name is not a valid account "
        "name ({})\"",
        uid, kAccountNameRule);
    Refuse(uid);
    co_return std::nullopt;
  }
  std::vector<AccountSpec> spec(1);
  spec[0].name = *name;
  spec[0].uids = {uid};
  spec[0].language = auto_.language;
  const TimePoint at = clock_->Now();
  std::function<Result<std::vector<AccountPut>>(Store&)> put = [&spec, at](Store& s) {
    return s.PutAccounts(std::span(spec), AccountPutMode::kCreate, "auto_accounts", at);
  };
  auto made = co_await store_.AsyncRun(std::move(put), asio::use_awaitable);
  if (!made) co_return std::unexpected(made.error());
  const AccountPut& outcome = made->front();
  if (outcome.outcome == AccountPutOutcome::kCreated) {
    spdlog::info("accounts: uid={} account={} result=created by=auto_accounts", uid, *name);
    by_uid_[uid] = Entry{AccountRef{outcome.id, *name}, std::chrono::steady_clock::now()};
    co_return AccountRef{outcome.id, *name};
  }
  // Refused: the same uid's other mail may have made it a moment ago (then it has the uid), or
  // the name is another account's, which never takes a uid it was not given.
  std::function<Result<std::optional<Account>>(Store&)> find = [uid](Store& s) {
    return s.FindAccountByUid(uid);
  };
  auto again = co_await store_.AsyncRun(std::move(find), asio::use_awaitable);
  if (!again) co_return std::unexpected(again.error());
  if (*again) co_return Remember(uid, **again);
  const bool taken = outcome.refused && outcome.refused->code == ErrorCode::kConflict;
  spdlog::warn("accounts: uid={} account={} result=refused reason=\"{}\"", uid, *name,
               taken ? "an account of this name exists without this uid: give the uid to it "
                       "(mailwardenctl accounts set) or to another account"
                     : "the store refused to create it");
  Refuse(uid);
  co_return std::nullopt;
}

boost::asio::awaitable<Result<std::optional<AccountId>>> AccountDirectory::FindDomainOwner(
    std::string domain) {
  const auto now = std::chrono::steady_clock::now();
  if (auto it = by_domain_.find(domain);
      it != by_domain_.end() && now - it->second.looked_up < ttl_) {
    co_return it->second.owner;
  }
  std::function<Result<std::optional<DomainOwner>>(Store&)> find = [&domain](Store& s) {
    return s.FindDomainOwner(domain);
  };
  auto found = co_await store_.AsyncRead(std::move(find), boost::asio::use_awaitable);
  if (!found) co_return std::unexpected(found.error());
  std::optional<AccountId> owner;
  if (*found) owner = (*found)->account;
  if (by_domain_.size() >= kMaxDomains) by_domain_.clear();
  by_domain_[domain] = DomainEntry{owner, now};
  co_return owner;
}

}  // namespace mailwarden
