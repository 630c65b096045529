// The daemon's half of the submission socket's wire format, described in
// submit/dropin_wire.h with the constants both halves share: decoding the header block,
// encoding the reply line.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "submit/dropin_wire.h"

namespace mailwarden {

struct SubmitRequest {
  std::optional<std::string> from;
  std::optional<std::string> full_name;
  bool extract = false;
  std::vector<std::string> recipients;
  // Version 2: the message ends with kSubmitEndMark (version 1: at the end of the stream).
  bool end_marked = true;
};

// Parses a complete header block (everything before and including the blank line). Returns
// nullopt and sets *error to a sentence on a malformed block.
std::optional<SubmitRequest> DecodeSubmitHeader(std::string_view block, std::string* error);

struct SubmitReply {
  int code = kExitSoftware;
  std::string text;
};

// "<code> <text>\n", read by DecodeSubmitReply; CR, LF and NUL in the text become spaces.
std::string EncodeSubmitReply(const SubmitReply& reply);

}  // namespace mailwarden
