// RspamdClient: one scan, one HTTP/1.1 connection to Rspamd's normal worker (POST /checkv2,
// rspamd_reply.h), over Boost.Beast. Bounded: the whole exchange, connect to reply, takes at
// most scan.timeout; a reply's header and body are read up to kMaxReplyBytes, so a broken or
// hostile peer cannot grow memory. Each scan opens its own connection: the scanner's
// concurrency bounds how many are open.
//
// Runs on the daemon's io_context.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <string>

#include "config/config.h"
#include "core/result.h"
#include "store/store.h"

namespace mailwarden {

inline constexpr std::size_t kMaxReplyBytes = 1024 * 1024;

class RspamdClient {
 public:
  RspamdClient(boost::asio::any_io_executor ex, const Config& config);

  // Scans the message. Fails with kUnavailable when Rspamd cannot be reached, does not answer
  // in time, or answers anything but 200 with a verdict.
  boost::asio::awaitable<Result<ScanResult>> Check(const UnscannedMessage& message,
                                                   std::string body);

 private:
  boost::asio::any_io_executor ex_;
  const Config& config_;
};

}  // namespace mailwarden
