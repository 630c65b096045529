#include "submit/submit_wire.h"

#include <cstddef>
#include <utility>

namespace mailwarden {
namespace {

constexpr std::string_view View(TextView text) { return {text.data(), text.size()}; }

constexpr std::string_view kMagic = View(kSubmitMagic);
constexpr std::string_view kMagicVersion1 = View(kSubmitMagicVersion1);
constexpr std::string_view kFromKey = View(kSubmitFromKey);
constexpr std::string_view kFullNameKey = View(kSubmitFullNameKey);
constexpr std::string_view kRecipientKey = View(kSubmitRecipientKey);
constexpr std::string_view kExtractLine = View(kSubmitExtractLine);

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

std::optional<SubmitRequest> DecodeSubmitHeader(std::string_view block, std::string* error) {
  if (block.size() > kMaxHeaderBytes) {
    Refuse(error, "the header block is over " + std::to_string(kMaxHeaderBytes) + " bytes");
    return std::nullopt;
  }
  if (block.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos) {
    Refuse(error, "the header block holds a CR or NUL byte");
    return std::nullopt;
  }
  // Both magic lines are the same length.
  static_assert(kMagic.size() == kMagicVersion1.size());
  const std::string_view magic = block.substr(0, kMagic.size());
  if ((magic != kMagic && magic != kMagicVersion1) || block.size() == kMagic.size() ||
      block[kMagic.size()] != '\n') {
    Refuse(error,
           "not a mailwarden submission: the first line must be \"" + std::string(kMagic) + "\"");
    return std::nullopt;
  }
  if (!block.ends_with("\n\n")) {
    Refuse(error, "the header block does not end with a blank line");
    return std::nullopt;
  }
  SubmitRequest request;
  request.end_marked = magic == kMagic;
  // Every line between the magic line and the final blank line; the last '\n' of the block is
  // the blank line itself, so an empty line met before it means data after the block's end.
  std::string_view rest = block.substr(kMagic.size() + 1);
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

}  // namespace mailwarden
