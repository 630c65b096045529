// The submission socket's wire format, spoken by mailwarden-sendmail and the daemon.
//
// The client connects to the UNIX socket and writes a header block, then the message:
//
//   MWSUBMIT 2\n
//   from <address>\n        at most once; -f/-r ("" for the null sender: "from \n")
//   fullname <text>\n       at most once; -F
//   extract\n               -t: recipients come from the To, Cc and Bcc headers
//   rcpt <address>\n        once per command-line recipient
//   \n                      end of the header block
//   <message bytes>
//   \0                      the end mark: the whole message was sent
//
// and then the client shuts down its writing side. What a shut-down shows the daemon, an end
// of the stream, is also all it sees of a client that dies mid-message (killed with its
// script, out of memory): a stream that ends without the end mark is such a client, and
// nothing of it is stored. A message holds no NUL byte (the daemon refuses one that does), so
// the mark cannot be part of it.
//
// Version 1 had no end mark (the end of the stream ended the message). The daemon still reads
// it, for a drop-in of an older release, e.g. a copy in a chroot not yet updated.
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
// This file is the client's half and the constants both halves share. The drop-in is built
// without the C++ standard library, so only C headers here; the daemon's half, with
// std::string, is submit/submit_wire.h.
#pragma once

#include <stddef.h>

#include "submit/text_view.h"

namespace mailwarden {

inline constexpr TextView kSubmitMagic = "MWSUBMIT 2";
inline constexpr TextView kSubmitMagicVersion1 = "MWSUBMIT 1";
inline constexpr char kSubmitEndMark = '\0';
inline constexpr size_t kMaxHeaderBytes = 256 * 1024;
inline constexpr size_t kMaxRecipientsPerSubmission = 1000;

// The keys of the header block's lines.
inline constexpr TextView kSubmitFromKey = "from ";
inline constexpr TextView kSubmitFullNameKey = "fullname ";
inline constexpr TextView kSubmitRecipientKey = "rcpt ";
inline constexpr TextView kSubmitExtractLine = "extract";

// sysexits(3) values, the drop-in's exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 64;
inline constexpr int kExitDataErr = 65;
inline constexpr int kExitUnavailable = 69;
inline constexpr int kExitSoftware = 70;
inline constexpr int kExitIoErr = 74;
inline constexpr int kExitTempFail = 75;
inline constexpr int kExitNoPerm = 77;
inline constexpr int kExitConfig = 78;

// The fields a header block carries. The views are not owned.
struct SubmitHeaderFields {
  bool has_from = false;
  TextView from;
  bool has_full_name = false;
  TextView full_name;
  bool extract = false;
  const TextView* recipients = nullptr;
  size_t recipient_count = 0;
};

// True if value may stand in a header block line: no CR, LF or NUL.
bool IsSubmitLineSafe(TextView value);

// Writes the header block (including the blank line that ends it) into out and returns its
// size. Returns 0, with out's contents unspecified, if a value holds CR, LF or NUL, a recipient
// is empty, there are more than kMaxRecipientsPerSubmission, or the block would exceed
// kMaxHeaderBytes or capacity (kMaxHeaderBytes is always enough). The daemon's
// DecodeSubmitHeader reads every block this writes.
size_t EncodeSubmitHeader(const SubmitHeaderFields& fields, char* out, size_t capacity);

struct SubmitReplyLine {
  int code = kExitSoftware;
  TextView text;  // a part of the line given to DecodeSubmitReply
};

// Parses "<code> <text>\n": code one to three digits, at most 255; text without CR, LF or NUL.
// False if the line is not of that form.
[[nodiscard]] bool DecodeSubmitReply(TextView line, SubmitReplyLine* reply);

}  // namespace mailwarden
