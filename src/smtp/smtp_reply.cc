#include "smtp/smtp_reply.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>

namespace mailwarden {
namespace {

// A peer's bytes in an error message: short and printable, never a log injection.
std::string Quote(std::string_view text) {
  constexpr std::size_t kShown = 64;
  std::string out;
  for (char c : text.substr(0, kShown)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  if (text.size() > kShown) out += "...";
  return out;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string Upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

}  // namespace

std::string SmtpReply::ToString() const {
  std::string out = std::to_string(code);
  for (const auto& line : lines) {
    if (line.empty()) continue;
    out += ' ';
    out += line;
  }
  return out;
}

Result<bool> SmtpReplyParser::AddLine(std::string_view line) {
  if (line.size() > kMaxReplyLineBytes) {
    return Fail(ErrorCode::kInvalidInput,
                fmt::format("SMTP reply line longer than {} bytes", kMaxReplyLineBytes));
  }
  if (reply_.lines.size() >= kMaxReplyLines) {
    return Fail(ErrorCode::kInvalidInput,
                fmt::format("SMTP reply of more than {} lines", kMaxReplyLines));
  }
  // Reply-code = %x32-35 %x30-35 %x30-39 (RFC 5321 4.2), then SP, "-" or the line end.
  const bool well_formed = line.size() >= 3 && line[0] >= '2' && line[0] <= '5' && line[1] >= '0' &&
                           line[1] <= '5' && IsDigit(line[2]) &&
                           (line.size() == 3 || line[3] == ' ' || line[3] == '-');
  if (!well_formed) {
    return Fail(ErrorCode::kInvalidInput,
                fmt::format("malformed SMTP reply line \"{}\"", Quote(line)));
  }
  const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (!reply_.lines.empty() && code != reply_.code) {
    return Fail(ErrorCode::kInvalidInput,
                fmt::format("SMTP reply code changed from {} to {} mid-reply", reply_.code, code));
  }
  reply_.code = code;
  reply_.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view());
  return line.size() == 3 || line[3] == ' ';
}

SmtpReply SmtpReplyParser::TakeReply() { return std::exchange(reply_, SmtpReply{}); }

Result<SmtpReply> ParseSmtpReply(std::string_view text) {
  SmtpReplyParser parser;
  while (!text.empty()) {
    const auto eol = text.find('\n');
    if (eol == std::string_view::npos) {
      return Fail(ErrorCode::kInvalidInput, "SMTP reply ends without a line end");
    }
    std::string_view line = text.substr(0, eol);
    if (line.ends_with('\r')) line.remove_suffix(1);
    text.remove_prefix(eol + 1);
    auto done = parser.AddLine(line);
    if (!done) return std::unexpected(done.error());
    if (*done) {
      if (!text.empty()) {
        return Fail(ErrorCode::kInvalidInput, "text after the end of the SMTP reply");
      }
      return parser.TakeReply();
    }
  }
  return Fail(ErrorCode::kInvalidInput, "SMTP reply ends mid-reply");
}

EhloCapabilities ParseEhloCapabilities(const SmtpReply& ehlo_reply) {
  EhloCapabilities caps;
  // The first line is the server's greeting; each further line is one keyword and its params.
  for (std::size_t i = 1; i < ehlo_reply.lines.size(); ++i) {
    std::string_view line = ehlo_reply.lines[i];
    const auto space = line.find(' ');
    const std::string keyword = Upper(line.substr(0, space));
    std::string_view params =
        space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
    while (params.starts_with(' ')) params.remove_prefix(1);
    while (params.ends_with(' ')) params.remove_suffix(1);
    if (keyword == "STARTTLS") {
      caps.starttls = true;
    } else if (keyword == "PIPELINING") {
      caps.pipelining = true;
    } else if (keyword == "8BITMIME") {
      caps.eight_bit_mime = true;
    } else if (keyword == "SMTPUTF8") {
      caps.smtputf8 = true;
    } else if (keyword == "SIZE") {
      caps.size = true;
      std::uint64_t limit = 0;
      const auto [end, ec] = std::from_chars(params.data(), params.data() + params.size(), limit);
      caps.max_size = (ec == std::errc() && end == params.data() + params.size()) ? limit : 0;
    }
  }
  return caps;
}

}  // namespace mailwarden
