#include "store/account_directory.h"

#include <boost/asio/use_awaitable.hpp>

namespace mailwarden {

AccountDirectory::AccountDirectory(StoreRunner& store, std::chrono::steady_clock::duration ttl)
    : store_(store), ttl_(ttl) {}

boost::asio::awaitable<Result<std::optional<AccountRef>>> AccountDirectory::FindByUid(Uid uid) {
  const auto now = std::chrono::steady_clock::now();
  if (auto it = by_uid_.find(uid); it != by_uid_.end() && now - it->second.looked_up < ttl_) {
    co_return it->second.account;
  }
  std::function<Result<std::optional<Account>>(Store&)> find = [uid](Store& s) {
    return s.FindAccountByUid(uid);
  };
  auto found = co_await store_.AsyncRun(std::move(find), boost::asio::use_awaitable);
  if (!found) co_return std::unexpected(found.error());
  if (!*found) {
    by_uid_.erase(uid);
    co_return std::nullopt;
  }
  AccountRef ref{(*found)->id, (*found)->name};
  by_uid_[uid] = Entry{ref, now};
  co_return ref;
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
