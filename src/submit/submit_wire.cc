#include "submit/submit_wire.h"

#include <charconv>
#include <utility>

namespace mailwarden {
namespace {

constexpr std::string_view kFromKey = "from ";
constexpr std::string_view kFullNameKey = "fullname ";
constexpr std::string_view kRecipientKey = "rcpt ";
constexpr std::string_view kExtractLine = "extract";

bool IsLineSafe(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool Refuse(std::string* error, std::string message) {
  if (error != nullptr) {
    *error = std::move(message);
  }
  return false;
}

// Quotes at most 40 bytes of a line the decoder did not understand, for the error sentence.
std::string Excerpt(std::string_view line) {
  constexpr std::size_t kMax = 40;
  std::string out = "\"";
  out += line.substr(0, kMax);
  out += line.size() > kMax ? "...\"" : "\"";
  return out;
}

bool DecodeLine(std::string_view line, SubmitRequest& request, std::string* error) {
  if (line == kExtractLine) {
    if (request.extract) {
      return Refuse(error, "the header block says \"extract\" twice");
    }
    request.extract = true;
  } else if (line.starts_with(kFromKey)) {
    if (request.from) {
      return Refuse(error, "the header block names the sender twice");
    }
    request.from = std::string(line.substr(kFromKey.size()));
  } else if (line.starts_with(kFullNameKey)) {
    if (request.full_name) {
      return Refuse(error, "the header block names the full name twice");
    }
    request.full_name = std::string(line.substr(kFullNameKey.size()));
  } else if (line.starts_with(kRecipientKey)) {
    std::string_view recipient = line.substr(kRecipientKey.size());
    if (recipient.empty()) {
      return Refuse(error, "the header block has an empty recipient");
    }
    if (request.recipients.size() == kMaxRecipientsPerSubmission) {
      return Refuse(error, "more than " + std::to_string(kMaxRecipientsPerSubmission) +
                               " recipients in one submission");
    }
    request.recipients.emplace_back(recipient);
  } else {
    return Refuse(error, "unknown line in the header block: " + Excerpt(line));
  }
  return true;
}

}  // namespace

std::optional<std::string> EncodeSubmitHeader(const SubmitRequest& request) {
  // The encoder refuses exactly what the decoder would, so a block that leaves the drop-in is
  // one the daemon reads.
  if (request.recipients.size() > kMaxRecipientsPerSubmission) {
    return std::nullopt;
  }
  std::string out;
  out.append(kSubmitMagic).push_back('\n');
  if (request.from) {
    if (!IsLineSafe(*request.from)) {
      return std::nullopt;
    }
    out.append(kFromKey).append(*request.from).push_back('\n');
  }
  if (request.full_name) {
    if (!IsLineSafe(*request.full_name)) {
      return std::nullopt;
    }
    out.append(kFullNameKey).append(*request.full_name).push_back('\n');
  }
  if (request.extract) {
    out.append(kExtractLine).push_back('\n');
  }
  for (const std::string& recipient : request.recipients) {
    if (recipient.empty() || !IsLineSafe(recipient)) {
      return std::nullopt;
    }
    out.append(kRecipientKey).append(recipient).push_back('\n');
    if (out.size() >= kMaxHeaderBytes) {
      return std::nullopt;
    }
  }
  out.push_back('\n');
  if (out.size() > kMaxHeaderBytes) {
    return std::nullopt;
  }
  return out;
}

std::optional<SubmitRequest> DecodeSubmitHeader(std::string_view block, std::string* error) {
  if (block.size() > kMaxHeaderBytes) {
    Refuse(error, "the header block is over " + std::to_string(kMaxHeaderBytes) + " bytes");
    return std::nullopt;
  }
  if (block.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos) {
    Refuse(error, "the header block holds a CR or NUL byte");
    return std::nullopt;
  }
  if (!block.starts_with(kSubmitMagic) || block.size() == kSubmitMagic.size() ||
      block[kSubmitMagic.size()] != '\n') {
    Refuse(error, "not a mailwarden submission: the first line must be \"" +
                      std::string(kSubmitMagic) + "\"");
    return std::nullopt;
  }
  if (!block.ends_with("\n\n")) {
    Refuse(error, "the header block does not end with a blank line");
    return std::nullopt;
  }
  SubmitRequest request;
  // Every line between the magic line and the final blank line; the last '\n' of the block is
  // the blank line itself, so an empty line met before it means data after the block's end.
  std::string_view rest = block.substr(kSubmitMagic.size() + 1);
  rest.remove_suffix(1);
  while (!rest.empty()) {
    std::size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end + 1);
    if (line.empty()) {
      Refuse(error, "the header block goes on after its blank line");
      return std::nullopt;
    }
    if (!DecodeLine(line, request, error)) {
      return std::nullopt;
    }
  }
  return request;
}

std::string EncodeSubmitReply(const SubmitReply& reply) {
  std::string out = std::to_string(reply.code);
  out.push_back(' ');
  for (char c : reply.text) {
    // A reason may quote what a script sent; the reply must stay one line whatever it holds.
    out.push_back(c == '\r' || c == '\n' || c == '\0' ? ' ' : c);
  }
  out.push_back('\n');
  return out;
}

std::optional<SubmitReply> DecodeSubmitReply(std::string_view line) {
  if (!line.ends_with('\n')) {
    return std::nullopt;
  }
  line.remove_suffix(1);
  std::size_t space = line.find(' ');
  if (space == 0 || space == std::string_view::npos || space > 3) {
    return std::nullopt;
  }
  std::string_view digits = line.substr(0, space);
  if (digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  SubmitReply reply;
  std::from_chars(digits.data(), digits.data() + digits.size(), reply.code);
  if (reply.code > 255) {
    return std::nullopt;
  }
  std::string_view text = line.substr(space + 1);
  if (!IsLineSafe(text)) {
    return std::nullopt;
  }
  reply.text = std::string(text);
  return reply;
}

}  // namespace mailwarden
