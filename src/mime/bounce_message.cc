#include "mime/bounce_message.h"

#include <algorithm>
#include <utility>

#include "core/failure_category.h"
#include "core/text.h"
#include "mime/gmime_ptr.h"

namespace mailwarden {
namespace {

// Reading a report stops after this much of a part: a DSN of 1,000 recipients is far less.
constexpr std::size_t kMaxPartBytes = 1024 * 1024;
constexpr std::size_t kMaxTextBytes = 500;

std::string Short(std::string_view s) {
  std::string out = ScrubControl(TrimAscii(s));
  if (out.size() > kMaxTextBytes) out.resize(CutAtUtf8Boundary(out, kMaxTextBytes).size());
  return out;
}

// "rfc822; user@example.net" -> "user@example.net"; "dns; mx.example.net" -> "mx.example.net".
std::string WithoutType(std::string_view value) {
  const auto semi = value.find(';');
  std::string out(TrimAscii(semi == std::string_view::npos ? value : value.substr(semi + 1)));
  if (out.size() >= 2 && out.front() == '<' && out.back() == '>')
    out = out.substr(1, out.size() - 2);
  return out;
}

std::string StreamBytes(GMimeStream* stream) {
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));
  if (bytes == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(bytes->data),
                     std::min<std::size_t>(bytes->len, kMaxPartBytes));
}

// The content of a part, decoded (a leaf) or as written (anything else), without its headers.
std::string BodyText(GMimeObject* object) {
  GObjectPtr<GMimeStream> out(g_mime_stream_mem_new());
  if (GMIME_IS_PART(object)) {
    GMimeDataWrapper* content = g_mime_part_get_content(GMIME_PART(object));
    if (content == nullptr) return {};
    g_mime_data_wrapper_write_to_stream(content, out.get());
  } else {
    g_mime_object_write_content_to_stream(object, nullptr, out.get());
  }
  return StreamBytes(out.get());
}

// Header-like fields in blocks separated by empty lines (RFC 3464 2.1, RFC 5965 3.1), folded
// lines unfolded, names lower case. Each block a list of (name, value).
using Fields = std::vector<std::pair<std::string, std::string>>;
std::vector<Fields> FieldBlocks(std::string_view text) {
  std::vector<Fields> blocks(1);
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (TrimAscii(line).empty()) {
      if (!blocks.back().empty()) blocks.emplace_back();
      continue;
    }
    if ((line.front() == ' ' || line.front() == '\t') && !blocks.back().empty()) {
      blocks.back().back().second.append(" ").append(TrimAscii(line));
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    blocks.back().emplace_back(ToAsciiLower(TrimAscii(line.substr(0, colon))),
                               TrimAscii(line.substr(colon + 1)));
  }
  if (blocks.back().empty()) blocks.pop_back();
  return blocks;
}

std::string Field(const Fields& fields, std::string_view name) {
  for (const auto& [n, v] : fields) {
    if (n == name) return v;
  }
  return {};
}

bool TypeIs(GMimeObject* object, const char* type, const char* subtype) {
  GMimeContentType* ct = g_mime_object_get_content_type(object);
  return ct != nullptr && g_mime_content_type_is_type(ct, type, subtype);
}

std::string Header(GMimeObject* object, const char* name) {
  const char* v = g_mime_object_get_header(object, name);
  return v == nullptr ? std::string() : std::string(TrimAscii(v));
}

// The original message a report carries: a message/rfc822 part, or text/rfc822-headers.
void ReadOriginal(GMimeObject* part, BounceMessage& out) {
  if (GMIME_IS_MESSAGE_PART(part)) {
    GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(part));
    if (inner == nullptr) return;
    out.original_return_path = WithoutType(Header(GMIME_OBJECT(inner), "Return-Path"));
    const char* id = g_mime_message_get_message_id(inner);
    if (id != nullptr) out.original_message_id = id;
    return;
  }
  const auto blocks = FieldBlocks(BodyText(part));
  if (blocks.empty()) return;
  out.original_return_path = WithoutType(Field(blocks[0], "return-path"));
  std::string id = Field(blocks[0], "message-id");
  if (id.size() >= 2 && id.front() == '<' && id.back() == '>') id = id.substr(1, id.size() - 2);
  out.original_message_id = id;
}

void ReadDeliveryStatus(std::string_view text, BounceMessage& out) {
  const auto blocks = FieldBlocks(text);
  if (blocks.empty()) return;
  out.reporting_mta = WithoutType(Field(blocks[0], "reporting-mta"));
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const Fields& b = blocks[i];
    std::string final_recipient = Field(b, "final-recipient");
    if (final_recipient.empty()) continue;  // the per-message block
    DsnRecipient r;
    const std::string original = Field(b, "original-recipient");
    r.address = WithoutType(original.empty() ? final_recipient : original);
    r.action = ToAsciiLower(TrimAscii(Field(b, "action")));
    r.status = std::string(TrimAscii(Field(b, "status")));
    if (const auto space = r.status.find_first_of(" \t("); space != std::string::npos) {
      r.status.resize(space);  // "5.0.0 (permanent failure)"
    }
    r.diagnostic = Short(WithoutType(Field(b, "diagnostic-code")));
    out.recipients.push_back(std::move(r));
  }
}

// The first line that gives a status or a 4xx/5xx reply, for a bounce in plain words.
std::string FailureLine(std::string_view text) {
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string line(TrimAscii(text.substr(0, nl)));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    const int code = LeadingReplyCode(line);
    const std::string status = FindEnhancedStatus(line);
    if (code >= 400 || (!status.empty() && status[0] != '2')) return Short(line);
    // "host mx.example.net said: 550 ..." or "<a@b>: 550 5.1.1 ...": a reply inside the line.
    for (const std::string_view said : {"said: ", ">: ", "said:"}) {
      const auto at = line.find(said);
      if (at != std::string::npos && LeadingReplyCode(line.substr(at + said.size())) >= 400) {
        return Short(line);
      }
    }
  }
  return {};
}

// The text a person would read: the first text/plain leaf, else the whole body.
std::string ReadableText(GMimeObject* object) {
  if (GMIME_IS_MULTIPART(object)) {
    GMimeMultipart* multipart = GMIME_MULTIPART(object);
    for (int i = 0; i < g_mime_multipart_get_count(multipart); ++i) {
      std::string text = ReadableText(g_mime_multipart_get_part(multipart, i));
      if (!text.empty()) return text;
    }
    return {};
  }
  if (GMIME_IS_PART(object) && TypeIs(object, "text", "plain")) return BodyText(object);
  return {};
}

bool Contains(std::string_view haystack_lower, std::initializer_list<std::string_view> needles) {
  return std::ranges::any_of(needles, [&](std::string_view n) {
    return haystack_lower.find(n) != std::string_view::npos;
  });
}

// RFC 3834 and what common auto-responders write instead of it.
bool IsAutoReply(GMimeObject* top, std::string_view subject_lower) {
  const std::string auto_submitted = ToAsciiLower(Header(top, "Auto-Submitted"));
  if (!auto_submitted.empty() && auto_submitted != "no") return true;
  if (!Header(top, "X-Autoreply").empty() || !Header(top, "X-Autorespond").empty() ||
      !Header(top, "X-Auto-Response-Suppress").empty()) {
    return true;
  }
  const std::string precedence = ToAsciiLower(Header(top, "Precedence"));
  if (precedence == "auto_reply" || precedence == "bulk" || precedence == "junk") return true;
  return subject_lower.starts_with("auto:") || subject_lower.starts_with("automatic reply") ||
         subject_lower.starts_with("autoreply") || Contains(subject_lower, {"out of office"}) ||
         subject_lower.starts_with("odpowiedź automatyczna");
}

// What only a bounce says of itself: its sender or its subject.
bool LooksLikeABounce(GMimeObject* top, std::string_view subject_lower) {
  const std::string from = ToAsciiLower(Header(top, "From"));
  return Contains(from, {"mailer-daemon", "postmaster"}) ||
         Contains(subject_lower,
                  {"undeliver", "delivery status notification", "mail delivery fail",
                   "returned mail", "failure notice", "delivery failure", "niedostarcz"});
}

}  // namespace

BounceMessage ParseBounceMessage(std::string_view message) {
  BounceMessage out;
  GObjectPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(message.data(), message.size()));
  GObjectPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  GObjectPtr<GMimeMessage> parsed(g_mime_parser_construct_message(parser.get(), nullptr));
  if (parsed == nullptr) return out;
  GMimeObject* top = GMIME_OBJECT(parsed.get());
  const char* subject_raw = g_mime_message_get_subject(parsed.get());
  const std::string subject = subject_raw == nullptr ? std::string() : Short(subject_raw);
  const std::string subject_lower = ToAsciiLower(subject);
  GMimeObject* body = g_mime_message_get_mime_part(parsed.get());

  if (body != nullptr && GMIME_IS_MULTIPART(body) && TypeIs(body, "multipart", "report")) {
    const char* type =
        g_mime_content_type_get_parameter(g_mime_object_get_content_type(body), "report-type");
    const std::string report_type = type == nullptr ? std::string() : ToAsciiLower(type);
    GMimeMultipart* multipart = GMIME_MULTIPART(body);
    for (int i = 0; i < g_mime_multipart_get_count(multipart); ++i) {
      GMimeObject* part = g_mime_multipart_get_part(multipart, i);
      if (report_type == "delivery-status" && (TypeIs(part, "message", "delivery-status") ||
                                               TypeIs(part, "message", "global-delivery-status"))) {
        out.kind = BounceKind::kDsn;
        ReadDeliveryStatus(BodyText(part), out);
      } else if (report_type == "feedback-report" && TypeIs(part, "message", "feedback-report")) {
        out.kind = BounceKind::kFeedback;
        const auto blocks = FieldBlocks(BodyText(part));
        if (!blocks.empty()) {
          out.feedback_type = ToAsciiLower(Field(blocks[0], "feedback-type"));
          if (out.original_return_path.empty()) {
            out.original_return_path = WithoutType(Field(blocks[0], "original-mail-from"));
          }
        }
      } else if (TypeIs(part, "message", "rfc822") || TypeIs(part, "text", "rfc822-headers") ||
                 TypeIs(part, "message", "global")) {
        std::string kept_return_path = out.original_return_path;
        ReadOriginal(part, out);
        if (out.original_return_path.empty()) out.original_return_path = kept_return_path;
      }
    }
    if (out.kind == BounceKind::kDsn || out.kind == BounceKind::kFeedback) return out;
  }

  const std::string text = body == nullptr ? std::string() : ReadableText(body);
  const bool bounce_like = LooksLikeABounce(top, subject_lower);
  if (!bounce_like && IsAutoReply(top, subject_lower)) {
    out.kind = BounceKind::kAutoReply;
    out.text = subject;
    return out;
  }
  out.text = FailureLine(text);
  if (!out.text.empty()) {
    out.kind = BounceKind::kPlain;
    return out;
  }
  out.text = subject;
  return out;
}

}  // namespace mailwarden
