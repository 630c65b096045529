// The submission socket's wire format, spoken by mailwarden-sendmail and the daemon.
//
// The client connects to the UNIX socket and writes a header block, then the message:
//
//   MWSUBMIT 1\n
//   from <address>\n        at most once; -f/-r ("" for the null sender: "from \n")
//   fullname <text>\n       at most once; -F
//   extract\n               -t: recipients come from the To, Cc and Bcc headers
//   rcpt <address>\n        once per command-line recipient
//   \n                      end of the header block
//   <message bytes>         until the client shuts down its writing side
//
// Values may not hold CR, LF or NUL (the client refuses such arguments with exit 64). The
// header block is at most kMaxHeaderBytes. The daemon answers with one line once the message
// is committed or refused, then closes:
//
//   <code> <text>\n        code: a sysexits value (0 stored, 65 bad message, 75 try later,
//                          77 uid has no account, 64 usage); text: the queue id or the reason.
//
// The caller's uid is never part of the request: the daemon reads it with SO_PEERCRED.
//
// Only the C++ standard library here: the drop-in links this file.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailwarden {

inline constexpr std::string_view kSubmitMagic = "MWSUBMIT 1";
inline constexpr std::size_t kMaxHeaderBytes = 256 * 1024;
inline constexpr std::size_t kMaxRecipientsPerSubmission = 1000;

// sysexits(3) values, the drop-in's exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 64;
inline constexpr int kExitDataErr = 65;
inline constexpr int kExitUnavailable = 69;
inline constexpr int kExitSoftware = 70;
inline constexpr int kExitTempFail = 75;
inline constexpr int kExitNoPerm = 77;
inline constexpr int kExitConfig = 78;

struct SubmitRequest {
  std::optional<std::string> from;
  std::optional<std::string> full_name;
  bool extract = false;
  std::vector<std::string> recipients;
};

// Serialises the header block (including the blank line that ends it). Returns nullopt if a
// value holds CR, LF or NUL, or the block would exceed kMaxHeaderBytes.
std::optional<std::string> EncodeSubmitHeader(const SubmitRequest& request);

// Parses a complete header block (everything before and including the blank line). Returns
// nullopt and sets *error to a sentence on a malformed block.
std::optional<SubmitRequest> DecodeSubmitHeader(std::string_view block, std::string* error);

struct SubmitReply {
  int code = kExitSoftware;
  std::string text;
};

std::string EncodeSubmitReply(const SubmitReply& reply);
// Parses "<code> <text>\n"; nullopt if the line is not of that form.
std::optional<SubmitReply> DecodeSubmitReply(std::string_view line);

}  // namespace mailwarden
