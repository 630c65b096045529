#include "mime/compose.h"

#include "mime/gmime_ptr.h"
#include "mime/message_prep.h"

namespace mailwarden {
namespace {

bool HasLineBreak(std::string_view s) {
  return s.find_first_of("\r\n", 0) != std::string::npos || s.find('\0') != std::string::npos;
}

GMimeObject* TextPart(const char* subtype, const std::string& content) {
  GMimeTextPart* part = g_mime_text_part_new_with_subtype(subtype);
  g_mime_text_part_set_text(part, content.c_str());
  g_mime_text_part_set_charset(part, "utf-8");
  // Quoted-printable keeps long lines and non-ASCII text within SMTP's limits.
  g_mime_part_set_content_encoding(GMIME_PART(part), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
  return GMIME_OBJECT(part);
}

}  // namespace

Result<std::string> ComposeMessage(const OutgoingMail& mail) {
  InitMime();
  auto from = ParseSingleAddress(mail.from);
  if (!from) return Fail(ErrorCode::kInvalidInput, "from: " + from.error().message);
  auto to = ParseSingleAddress(mail.to);
  if (!to) return Fail(ErrorCode::kInvalidInput, "to: " + to.error().message);
  if (HasLineBreak(mail.subject) || HasLineBreak(mail.from_name) || HasLineBreak(mail.hostname)) {
    return Fail(ErrorCode::kInvalidInput, "a header value may not hold a line break");
  }
  if (mail.text.find('\0') != std::string::npos || mail.html.find('\0') != std::string::npos) {
    return Fail(ErrorCode::kInvalidInput, "the message text may not hold a NUL byte");
  }

  GObjectPtr<GMimeMessage> message(g_mime_message_new(TRUE));
  g_mime_message_add_mailbox(message.get(), GMIME_ADDRESS_TYPE_FROM,
                             mail.from_name.empty() ? nullptr : mail.from_name.c_str(),
                             from->c_str());
  g_mime_message_add_mailbox(message.get(), GMIME_ADDRESS_TYPE_TO, nullptr, to->c_str());
  g_mime_message_set_subject(message.get(), mail.subject.c_str(), "utf-8");
  GDateTime* date = g_date_time_new_from_unix_local(ToUnixMillis(mail.date) / 1000);
  g_mime_message_set_date(message.get(), date);
  g_date_time_unref(date);
  const std::string id = NewMessageId(mail.hostname.empty() ? "localhost" : mail.hostname);
  g_mime_message_set_message_id(message.get(), id.c_str());
  // RFC 3834: machines must not answer this mail automatically (no vacation-reply loops).
  g_mime_object_set_header(GMIME_OBJECT(message.get()), "Auto-Submitted", "auto-generated",
                           nullptr);

  if (mail.html.empty()) {
    GObjectPtr<GMimeObject> text(TextPart("plain", mail.text));
    g_mime_message_set_mime_part(message.get(), text.get());
  } else {
    GObjectPtr<GMimeMultipart> alternative(g_mime_multipart_new_with_subtype("alternative"));
    GObjectPtr<GMimeObject> text(TextPart("plain", mail.text));
    GObjectPtr<GMimeObject> html(TextPart("html", mail.html));
    g_mime_multipart_add(alternative.get(), text.get());
    g_mime_multipart_add(alternative.get(), html.get());
    g_mime_message_set_mime_part(message.get(), GMIME_OBJECT(alternative.get()));
  }

  FormatOptionsPtr options(g_mime_format_options_new());
  g_mime_format_options_set_newline_format(options.get(), GMIME_NEWLINE_FORMAT_DOS);
  GCharPtr out(g_mime_object_to_string(GMIME_OBJECT(message.get()), options.get()));
  return std::string(out.get());
}

}  // namespace mailwarden
