// What a message that came back to a return path (or a feedback-loop address) says, read with
// GMime: an RFC 3464 delivery status notification, an RFC 5965 feedback report (a complaint),
// an RFC 3834 automatic reply, or a plain-text bounce of an older MTA.
//
// Pure: parses bytes, judges nothing about accounts or messages (the intake does). Any input
// gives an answer; what cannot be read is kUnrecognised.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mailwarden {

enum class BounceKind {
  kDsn,           // multipart/report; report-type=delivery-status
  kFeedback,      // multipart/report; report-type=feedback-report (ARF)
  kAutoReply,     // an automatic reply (Auto-Submitted, X-Autoreply, Precedence...): no failure
  kPlain,         // a bounce in plain words, with a status or a 4xx/5xx reply found in it
  kUnrecognised,  // nothing of the above could be found
};

// One per-recipient block of a DSN (RFC 3464 2.3).
struct DsnRecipient {
  std::string address;     // Original-Recipient if given, else Final-Recipient (type stripped)
  std::string action;      // lower case: failed, delayed, delivered, relayed, expanded
  std::string status;      // "5.1.1"
  std::string diagnostic;  // Diagnostic-Code without its type ("550 5.1.1 ... User unknown")
};

struct BounceMessage {
  BounceKind kind = BounceKind::kUnrecognised;
  std::string reporting_mta;  // DSN: Reporting-MTA without its type
  std::vector<DsnRecipient> recipients;
  // kPlain: the line that says why (with its status or reply code); kUnrecognised: the
  // subject, for the operator.
  std::string text;
  // kFeedback: the complaint's type (abuse, fraud...) and what identifies the original
  // message it carries: its return path and Message-ID.
  std::string feedback_type;
  std::string original_return_path;
  std::string original_message_id;
};

BounceMessage ParseBounceMessage(std::string_view message);

}  // namespace mailwarden
