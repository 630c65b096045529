// Fills an existing account with N messages, straight into the store (the daemon must not be
// running): the held mail of bench/account-control, made in seconds rather than by a million
// submissions. Batches of 10,000, one transaction each (InsertMessages, group commit).
//
//   fill_store DB_PATH ACCOUNT N [BODY_BYTES] [--sent]
//
// The body is BODY_BYTES (default 2048) of order-mail text in lines of normal length, so that
// what the benchmark releases is mail a relay takes. With --sent, each batch is then claimed
// and recorded as taken by the relay (250), as delivery leaves it: mail a later bounce can be
// about (bench/bounce-intake's storm), made without delivering it. The store must hold no
// other due mail then.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace mailwarden {
namespace {

constexpr std::int64_t kBatch = 10'000;

// A body of about `bytes` bytes as a shop's order mail has it: lines of text of at most 72
// characters (RFC 5322 allows 998; relays refuse longer ones), CRLF-ended.
std::string OrderText(std::size_t bytes) {
  static constexpr std::string_view kLines[] = {
      "Thank you for your order. We have received it and will ship it soon.",
      "Order number: 100234    Date: 2026-11-26",
      "1 x Garden chair, teak, natural finish                     89.00 EUR",
      "2 x Cushion, grey, 45 x 45 cm                              25.80 EUR",
      "Shipping                                                    4.90 EUR",
      "Total                                                     119.70 EUR",
      "You can follow your parcel at https://site.example/orders/100234",
      "If you have questions, simply reply to this message.",
      "",
  };
  std::string text;
  for (std::size_t i = 0; text.size() < bytes; ++i) {
    text += kLines[i % std::size(kLines)];
    text += "\r\n";
  }
  return text;
}

bool ParseCount(std::string_view text, std::int64_t& out) {
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end && out >= 0;
}

int Fill(const std::string& db_path, const std::string& account_name, std::int64_t n,
         std::int64_t body_bytes, bool sent) {
  auto store = OpenStore("sqlite:" + db_path);
  if (!store) {
    std::fprintf(stderr, "open %s: %s\n", db_path.c_str(), store.error().message.c_str());
    return 1;
  }
  auto account = (*store)->FindAccount(account_name);
  if (!account) {
    std::fprintf(stderr, "find account: %s\n", account.error().message.c_str());
    return 1;
  }
  if (!*account) {
    std::fprintf(stderr, "no account %s\n", account_name.c_str());
    return 1;
  }
  const AccountId id = (*account)->id;
  const Uid uid = (*account)->uids.empty() ? 0 : (*account)->uids.front();

  NewMessage proto;
  proto.account = id;
  proto.sender = "www@site.example";
  proto.recipients = {"customer@example.net"};
  proto.subject = "Your order";
  proto.script = "/home/site/public_html/order.php";
  proto.uid = uid;
  proto.body = "From: www@site.example\r\nTo: customer@example.net\r\nSubject: Your order\r\n\r\n" +
               OrderText(static_cast<std::size_t>(body_bytes));

  // One line per batch, rewritten in place on a terminal.
  const char* progress_end = ::isatty(2) ? "\r" : "\n";
  const auto started = std::chrono::steady_clock::now();
  std::vector<NewMessage> batch;
  for (std::int64_t done = 0; done < n;) {
    const std::int64_t count = std::min(kBatch, n - done);
    // Received now: the hold period must not expire the mail under the benchmark.
    const TimePoint now = SystemClock().Now();
    batch.assign(static_cast<std::size_t>(count), proto);
    for (auto& m : batch) m.received_at = now;
    auto ids = (*store)->InsertMessages(batch);
    if (!ids) {
      std::fprintf(stderr, "insert: %s\n", ids.error().message.c_str());
      return 1;
    }
    if (sent) {
      ClaimRequest claim;
      claim.now = now;
      claim.limit = static_cast<int>(count);
      claim.lease_until = now + std::chrono::hours(1);
      claim.node = "fill_store";
      auto claimed = (*store)->ClaimDue(claim);
      if (!claimed) {
        std::fprintf(stderr, "claim: %s\n", claimed.error().message.c_str());
        return 1;
      }
      std::vector<DeliveryOutcome> outcomes;
      for (const ClaimedMessage& m : claimed->messages) {
        DeliveryOutcome o{.id = m.id, .recipients = {}, .next_attempt = {}};
        for (const ClaimedRecipient& r : m.recipients) {
          o.recipients.push_back(
              {.index = r.index, .status = RecipientStatus::kSent, .reply = "250 2.0.0 Ok"});
        }
        outcomes.push_back(std::move(o));
      }
      if (auto recorded = (*store)->RecordOutcomes(outcomes, now); !recorded) {
        std::fprintf(stderr, "record: %s\n", recorded.error().message.c_str());
        return 1;
      }
    }
    done += count;
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    std::fprintf(stderr, "%lld / %lld messages, %.1f s%s", static_cast<long long>(done),
                 static_cast<long long>(n), took.count(), progress_end);
  }
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  if (::isatty(2)) std::fprintf(stderr, "\n");
  std::printf("filled %lld messages for %s in %.1f s (%.0f msg/s)\n", static_cast<long long>(n),
              account_name.c_str(), took.count(),
              took.count() > 0 ? static_cast<double>(n) / took.count() : 0.0);
  return 0;
}

}  // namespace
}  // namespace mailwarden

int main(int argc, char** argv) {
  std::int64_t n = 0;
  std::int64_t body_bytes = 2048;
  const bool sent = argc > 4 && std::string_view(argv[argc - 1]) == "--sent";
  if (sent) --argc;
  if (argc < 4 || argc > 5 || !mailwarden::ParseCount(argv[3], n) ||
      (argc == 5 && !mailwarden::ParseCount(argv[4], body_bytes))) {
    std::fprintf(stderr, "usage: fill_store DB_PATH ACCOUNT N [BODY_BYTES] [--sent]\n");
    return 64;
  }
  spdlog::set_level(spdlog::level::warn);
  return mailwarden::Fill(argv[1], argv[2], n, body_bytes, sent);
}
