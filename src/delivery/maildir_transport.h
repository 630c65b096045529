// delivery.mode = "maildir": every message becomes a file in a maildir, for development and
// tests where no relay runs. Nothing leaves the machine.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "core/result.h"
#include "delivery/transport.h"

namespace mailwarden {

// Threading: Deliver runs on the caller's executor and blocks it for the file writes and
// fsyncs (acceptable for a development transport); calls must not overlap from several
// threads.
class MaildirTransport final : public Transport {
 public:
  explicit MaildirTransport(std::filesystem::path maildir);

  // Writes one file per message into maildir/new (creating cur/, new/ and tmp/ when missing):
  // "Return-Path: <sender>", one "Delivered-To: <address>" per recipient, then the body. On
  // success every recipient is kSent with "250 2.0.0 maildir: <file name>" and the file is
  // durable; on a disk error every recipient is kPending with the error and no file is left.
  boost::asio::awaitable<std::vector<RecipientOutcome>> Deliver(
      const ClaimedMessage& message) override;

  void Shutdown() override {}

  // The work of Deliver: returns the new file's name (inside maildir/new), or kUnavailable
  // with the path and the system's reason.
  Result<std::string> WriteMessage(const ClaimedMessage& message);

 private:
  std::filesystem::path maildir_;
  std::string host_;  // this host's name as a maildir file name allows it
};

}  // namespace mailwarden
