#include "delivery/maildir_transport.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/ip/host_name.hpp>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace mailwarden {
namespace {

// Maildir names its files after the host; "/" and ":" would break the name (the latter
// starts the flags part), so they are written as octal escapes, as the maildir spec asks.
std::string MaildirHostName() {
  boost::system::error_code ec;
  std::string out;
  for (char c : boost::asio::ip::host_name(ec)) {
    if (c == '/') {
      out += "\\057";
    } else if (c == ':') {
      out += "\\072";
    } else {
      out += c;
    }
  }
  return out.empty() ? "localhost" : out;
}

// Envelope addresses go into header lines: a line end in one would forge headers.
std::string OneLine(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return out;
}

Error SystemError(std::string_view what, const std::filesystem::path& path, int err) {
  return Error{ErrorCode::kUnavailable,
               fmt::format("maildir: {} {}: {}", what, path.string(), std::strerror(err))};
}

Result<void> WriteAll(int fd, std::string_view data, const std::filesystem::path& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(SystemError("cannot write", path, errno));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Result<void> SyncDirectory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(SystemError("cannot open", dir, errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return std::unexpected(SystemError("cannot sync", dir, err));
  return {};
}

}  // namespace

MaildirTransport::MaildirTransport(std::filesystem::path maildir)
    : maildir_(std::move(maildir)), host_(MaildirHostName()) {}

Result<std::string> MaildirTransport::WriteMessage(const ClaimedMessage& message) {
  for (const char* sub : {"tmp", "new", "cur"}) {
    std::error_code ec;
    std::filesystem::create_directories(maildir_ / sub, ec);
    if (ec) {
      return Fail(ErrorCode::kUnavailable, fmt::format("maildir: cannot create {}: {}",
                                                       (maildir_ / sub).string(), ec.message()));
    }
  }

  static std::atomic<std::uint64_t> counter{0};
  timeval now{};
  ::gettimeofday(&now, nullptr);
  const std::string name =
      fmt::format("{}.M{}P{}Q{}.{}", now.tv_sec, now.tv_usec, ::getpid(), ++counter, host_);
  const auto tmp_path = maildir_ / "tmp" / name;
  const auto new_path = maildir_ / "new" / name;

  std::string head = fmt::format("Return-Path: <{}>\r\n", OneLine(message.sender));
  for (const auto& r : message.recipients) {
    head += fmt::format("Delivered-To: {}\r\n", OneLine(r.address));
  }

  const int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return std::unexpected(SystemError("cannot create", tmp_path, errno));
  auto written = WriteAll(fd, head, tmp_path);
  if (written) written = WriteAll(fd, message.body, tmp_path);
  // Why: the rename below publishes the file; its data must be on disk before it is visible.
  if (written && ::fsync(fd) != 0)
    written = std::unexpected(SystemError("cannot sync", tmp_path, errno));
  if (::close(fd) != 0 && written)
    written = std::unexpected(SystemError("cannot close", tmp_path, errno));
  if (!written) {
    ::unlink(tmp_path.c_str());
    return std::unexpected(written.error());
  }
  // Why: rename is atomic, so a reader of new/ sees the whole message or none of it.
  if (::rename(tmp_path.c_str(), new_path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_path.c_str());
    return std::unexpected(SystemError("cannot move into new/", tmp_path, err));
  }
  // Why: the rename is durable only once the directory that holds the new name is synced.
  auto synced = SyncDirectory(maildir_ / "new");
  if (!synced) return std::unexpected(synced.error());
  return name;
}

boost::asio::awaitable<std::vector<RecipientOutcome>> MaildirTransport::Deliver(
    const ClaimedMessage& message) {
  auto written = WriteMessage(message);
  std::vector<RecipientOutcome> outcomes;
  outcomes.reserve(message.recipients.size());
  for (const auto& r : message.recipients) {
    if (written) {
      outcomes.push_back(
          {r.index, RecipientStatus::kSent, fmt::format("250 2.0.0 maildir: {}", *written)});
    } else {
      outcomes.push_back({r.index, RecipientStatus::kPending, written.error().message});
    }
  }
  co_return outcomes;
}

}  // namespace mailwarden
