#include "mime/message_prep.h"

#include <fmt/format.h>
#include <gmime/gmime.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/text.h"
#include "mime/gmime_ptr.h"

namespace mailwarden {
namespace {

constexpr std::size_t kMaxHeaderLine = 998;   // RFC 5322 2.1.1, excluding CRLF
constexpr std::size_t kMaxAddress = 254;      // RFC 5321 path limit minus the angle brackets
constexpr std::size_t kMaxRecipients = 1000;  // per message
constexpr std::size_t kMaxSummary = 255;      // subject and script as stored
constexpr std::size_t kMaxFullName = 200;     // keeps an added From header well under 998
constexpr std::size_t kMaxQuoted = 80;        // of input echoed in an error sentence

bool IsGroup(InternetAddress* address) {
  return g_type_is_a(G_OBJECT_TYPE(address), internet_address_group_get_type());
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && g_ascii_strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Text for a single-line field: valid UTF-8, control characters as spaces, trimmed, bounded.
std::string SingleLine(std::string_view text, std::size_t max) {
  GCharPtr valid(g_utf8_make_valid(text.data(), static_cast<gssize>(text.size())));
  const std::string s = ScrubControl(valid.get());
  return std::string(CutAtUtf8Boundary(TrimAscii(s), max));
}

// Input echoed in an error sentence: one line, bounded, quoted, so logs cannot be forged.
std::string Quote(std::string_view text) {
  std::string s = SingleLine(text, kMaxQuoted);
  if (text.size() > kMaxQuoted) s += "...";
  return "\"" + s + "\"";
}

bool IsDomainByte(unsigned char c) {
  return g_ascii_isalnum(c) || c == '-' || c == '_' || c >= 0x80;
}

bool IsPlainDomain(std::string_view domain) {
  if (domain.empty()) return false;
  if (domain.front() == '[') {
    if (domain.size() < 3 || domain.back() != ']') return false;
    return std::ranges::all_of(domain.substr(1, domain.size() - 2),
                               [](char c) { return g_ascii_isalnum(c) || c == '.' || c == ':'; });
  }
  if (domain.front() == '.' || domain.back() == '.') return false;
  if (domain.find("..") != std::string_view::npos) return false;
  return std::ranges::all_of(
      domain, [](char c) { return c == '.' || IsDomainByte(static_cast<unsigned char>(c)); });
}

// A plain local@domain: what is safe to hand to RCPT TO / MAIL FROM and to store. Quoted local
// parts are refused on purpose: scripts never need them and they hide spaces and specials.
bool IsPlainAddress(std::string_view address) {
  if (address.empty() || address.size() > kMaxAddress) return false;
  const std::size_t at = address.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == address.size()) return false;
  const std::string_view local = address.substr(0, at);
  const bool local_ok = std::ranges::all_of(local, [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u != 0x7F &&
           std::string_view("<>()[],;:\\\"@").find(c) == std::string_view::npos;
  });
  return local_ok && IsPlainDomain(address.substr(at + 1));
}

// ---- The header section, split into fields without altering a byte of them. ----

struct HeaderField {
  std::string_view name;
  std::vector<std::string_view> lines;  // the field's physical lines, without line ends

  // The unfolded value (RFC 5322 3.2.2: only the line breaks go, the white space stays).
  std::string Value() const {
    std::string value(lines.front().substr(lines.front().find(':') + 1));
    for (std::size_t i = 1; i < lines.size(); ++i) value.append(lines[i]);
    return value;
  }
};

struct SplitMessage {
  std::vector<HeaderField> fields;
  std::string_view body;
};

// "Name:" with a name of printable ASCII; obsolete white space before the colon is accepted.
std::string_view FieldName(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && line[i] > 0x20 && line[i] < 0x7F && line[i] != ':') ++i;
  const std::size_t name_end = i;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  if (name_end == 0 || i == line.size() || line[i] != ':') return {};
  return line.substr(0, name_end);
}

// The header section ends at the first empty line or, for a script that forgot it, at the first
// line that is neither a field nor a continuation (Postfix does the same).
Result<SplitMessage> SplitHeaderSection(std::string_view raw) {
  SplitMessage split;
  std::size_t pos = 0;
  // A leading mbox "From " line is not a header; Postfix's sendmail skips it too.
  if (raw.starts_with("From ") && FieldName(raw.substr(0, raw.find('\n'))).empty()) {
    const std::size_t eol = raw.find('\n');
    pos = eol == std::string_view::npos ? raw.size() : eol + 1;
  }
  while (pos < raw.size()) {
    const std::size_t eol = raw.find('\n', pos);
    const std::size_t next = eol == std::string_view::npos ? raw.size() : eol + 1;
    std::string_view line = raw.substr(pos, next - pos);
    if (line.ends_with('\n')) line.remove_suffix(1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty()) {
      pos = next;
      break;
    }
    const bool continuation = (line.front() == ' ' || line.front() == '\t');
    std::string_view name;
    if (continuation) {
      if (split.fields.empty()) break;
    } else {
      name = FieldName(line);
      if (name.empty()) break;
    }
    const std::string_view owner = continuation ? split.fields.back().name : name;
    // A lone CR is a line break to some MTAs: a header hidden behind one could not be checked.
    if (line.find('\r') != std::string_view::npos) {
      return Fail(ErrorCode::kInvalidInput,
                  fmt::format("a line of the {} header holds a carriage return that does not "
                              "end the line",
                              Quote(owner)));
    }
    if (continuation) {
      split.fields.back().lines.push_back(line);
    } else {
      split.fields.push_back(HeaderField{name, {line}});
    }
    pos = next;
  }
  split.body = raw.substr(pos);
  return split;
}

const HeaderField* FindField(const std::vector<HeaderField>& fields, std::string_view name) {
  for (const HeaderField& field : fields) {
    if (EqualsIgnoreCase(field.name, name)) return &field;
  }
  return nullptr;
}

// ---- Recipients ----

// Deduplicates on local part as written and domain in any case, keeping first-seen order.
class RecipientList {
 public:
  Result<void> Add(std::string address) {
    std::string key = address;
    const std::size_t at = key.rfind('@');
    for (std::size_t i = at + 1; i < key.size(); ++i) key[i] = g_ascii_tolower(key[i]);
    if (!seen_.insert(std::move(key)).second) return {};
    if (addresses_.size() == kMaxRecipients) {
      return Fail(ErrorCode::kInvalidInput,
                  fmt::format("too many recipients: more than {} in one message", kMaxRecipients));
    }
    addresses_.push_back(std::move(address));
    return {};
  }
  std::vector<std::string> Take() { return std::move(addresses_); }
  bool empty() const { return addresses_.empty(); }

 private:
  std::unordered_set<std::string> seen_;
  std::vector<std::string> addresses_;
};

// Collects every mailbox of a parsed list, members of groups included.
void CollectMailboxes(InternetAddressList* list, std::vector<std::string>& out) {
  const int count = internet_address_list_length(list);
  for (int i = 0; i < count; ++i) {
    InternetAddress* address = internet_address_list_get_address(list, i);
    if (IsGroup(address)) {
      CollectMailboxes(
          internet_address_group_get_members(reinterpret_cast<InternetAddressGroup*>(address)),
          out);
    } else {
      const char* addr =
          internet_address_mailbox_get_addr(reinterpret_cast<InternetAddressMailbox*>(address));
      out.emplace_back(addr != nullptr ? addr : "");
    }
  }
}

// The mailboxes of one address header; an empty header or an empty group gives none.
Result<std::vector<std::string>> HeaderAddresses(const HeaderField& field) {
  const std::string value = field.Value();
  std::vector<std::string> addresses;
  if (TrimAscii(value).empty()) return addresses;
  GObjectPtr<InternetAddressList> list(internet_address_list_parse(nullptr, value.c_str()));
  if (list == nullptr) {
    return Fail(ErrorCode::kInvalidInput,
                fmt::format("the {} header {} holds no address that can be read", Quote(field.name),
                            Quote(TrimAscii(value))));
  }
  CollectMailboxes(list.get(), addresses);
  for (const std::string& address : addresses) {
    if (!IsPlainAddress(address)) {
      return Fail(ErrorCode::kInvalidInput,
                  fmt::format("the address {} in the {} header is not a plain address "
                              "local@domain",
                              Quote(address), Quote(field.name)));
    }
  }
  return addresses;
}

Result<std::vector<std::string>> CollectRecipients(const SubmitEnvelope& envelope,
                                                   const std::vector<HeaderField>& fields) {
  RecipientList recipients;
  for (const std::string& text : envelope.recipients) {
    auto address = ParseSingleAddress(text);
    if (!address) {
      return Fail(ErrorCode::kInvalidInput,
                  "recipient " + Quote(text) + " is refused: " + address.error().message);
    }
    if (auto added = recipients.Add(std::move(*address)); !added) {
      return std::unexpected(added.error());
    }
  }
  if (envelope.extract_recipients) {
    for (const HeaderField& field : fields) {
      if (!EqualsIgnoreCase(field.name, "To") && !EqualsIgnoreCase(field.name, "Cc") &&
          !EqualsIgnoreCase(field.name, "Bcc")) {
        continue;
      }
      auto addresses = HeaderAddresses(field);
      if (!addresses) return std::unexpected(addresses.error());
      for (std::string& address : *addresses) {
        if (auto added = recipients.Add(std::move(address)); !added) {
          return std::unexpected(added.error());
        }
      }
    }
  }
  if (recipients.empty()) {
    return Fail(ErrorCode::kInvalidInput,
                envelope.extract_recipients
                    ? "no recipients: the To, Cc and Bcc headers name none and the command "
                      "line gives none"
                    : "no recipients: name them on the command line, or use -t to take them "
                      "from the To, Cc and Bcc headers");
  }
  return recipients.Take();
}

// ---- Sender and added headers ----

std::string DefaultAddress(const PrepareContext& context) {
  return context.account + "@" + context.hostname;
}

Result<std::string> EnvelopeSender(const SubmitEnvelope& envelope,
                                   const std::vector<HeaderField>& fields,
                                   const PrepareContext& context) {
  if (envelope.sender) {
    const std::string_view text = TrimAscii(*envelope.sender);
    if (text.empty() || text == "<>") return std::string();
    auto address = ParseSingleAddress(text);
    if (!address) {
      return Fail(ErrorCode::kInvalidInput,
                  "sender " + Quote(text) + " is refused: " + address.error().message);
    }
    return address;
  }
  if (const HeaderField* from = FindField(fields, "From")) {
    auto addresses = HeaderAddresses(*from);
    if (!addresses) return std::unexpected(addresses.error());
    if (!addresses->empty()) return std::move(addresses->front());
  }
  std::string address = DefaultAddress(context);
  if (!IsPlainAddress(address)) {
    return Fail(ErrorCode::kInvalidInput,
                "the default sender " + Quote(address) + " is not a plain address local@domain");
  }
  return address;
}

// Account and host names go into Received and Message-ID: atoms only, never line breaks.
std::string Atom(std::string_view text, std::string_view fallback) {
  std::string s(text.substr(0, 253));
  for (char& c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F ||
        std::string_view("()<>[]:;@\\,\"").find(c) != std::string_view::npos) {
      c = '_';
    }
  }
  return s.empty() ? std::string(fallback) : s;
}

// RFC 5322 3.3 in the local time zone; names are spelt out so the C locale is not needed.
std::string FormatDate(TimePoint now) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  localtime_r(&t, &tm);
  const long offset_minutes = tm.tm_gmtoff / 60;
  const long abs_minutes = offset_minutes < 0 ? -offset_minutes : offset_minutes;
  return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} {}{:02}{:02}", kDays[tm.tm_wday],
                     tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, offset_minutes < 0 ? '-' : '+', abs_minutes / 60, abs_minutes % 60);
}

// "From: Name <addr>" with the name quoted or encoded (UTF-8 encoded words) by GMime and folded.
std::string FromHeader(std::string_view full_name, const std::string& address) {
  const std::string name = SingleLine(full_name, kMaxFullName);
  if (name.empty()) return "From: " + address + "\r\n";
  GObjectPtr<InternetAddress> mailbox(internet_address_mailbox_new(name.c_str(), address.c_str()));
  internet_address_set_charset(mailbox.get(), "utf-8");
  GObjectPtr<InternetAddressList> list(internet_address_list_new());
  internet_address_list_add(list.get(), mailbox.get());
  std::unique_ptr<GMimeFormatOptions, FormatOptionsFree> options(g_mime_format_options_new());
  g_mime_format_options_set_newline_format(options.get(), GMIME_NEWLINE_FORMAT_DOS);
  // GMime folds relative to what the string already holds, so the field name goes in first.
  GString* header = g_string_new("From: ");
  internet_address_list_encode(list.get(), options.get(), header);
  std::string text(header->str, header->len);
  g_string_free(header, TRUE);
  if (!text.ends_with("\r\n")) text += "\r\n";
  return text;
}

// Only line ends change: a bare LF becomes CRLF, a bare CR stays, and a last line without an end
// gets one, since SMTP's closing "." must start a line of its own. What that adds to a body:
struct LineEnds {
  std::size_t bare_lf = 0;    // LFs without their CR
  bool unterminated = false;  // the last line has no end
  std::size_t longest = 0;    // bytes of the longest line, its line end not counted
  std::size_t Added() const { return bare_lf + (unterminated ? 2 : 0); }
};

LineEnds CountLineEnds(std::string_view body) {
  LineEnds ends;
  std::size_t start = 0;
  for (std::size_t lf = body.find('\n'); lf != std::string_view::npos;
       lf = body.find('\n', lf + 1)) {
    const bool bare = lf == 0 || body[lf - 1] != '\r';
    if (bare) ++ends.bare_lf;
    ends.longest = std::max(ends.longest, lf - start - (bare ? 0 : 1));
    start = lf + 1;
  }
  ends.longest = std::max(ends.longest, body.size() - start);
  ends.unterminated = !body.empty() && body.back() != '\n';
  return ends;
}

// Makes `text`, whose body is the `body_size` bytes at `body_at` (after the header section as
// received), into `head` followed by that body with CRLF line ends, in the same buffer: a large
// message is never held twice. The buffer grows (a copy) only if its capacity is short.
void PlaceMessage(std::string& text, std::string_view head, std::size_t body_at,
                  std::size_t body_size, const LineEnds& ends) {
  const std::size_t total = head.size() + body_size + ends.Added();
  if (total > text.capacity()) text.reserve(total);
  if (head.size() < body_at) {
    // The header section shrank (a long Bcc left out): the body moves left to its place first,
    // so that below every byte moves right or stays.
    std::memmove(text.data() + head.size(), text.data() + body_at, body_size);
    body_at = head.size();
  }
  if (total > text.size()) text.resize(total);
  char* data = text.data();
  // From the end backwards, each line to its place, a CR before each bare LF. A byte's place is
  // never left of where it was, so none is overwritten before it is read.
  std::size_t src = body_at + body_size;  // the end of what is left to move
  std::size_t dst = total;                // and of where it goes
  if (ends.unterminated) {
    data[--dst] = '\n';
    data[--dst] = '\r';
  }
  for (std::size_t bare = ends.bare_lf; bare > 0;) {
    const auto* lf = static_cast<const char*>(::memrchr(data + body_at, '\n', src - body_at));
    const auto at = static_cast<std::size_t>(lf - data);
    const bool is_bare = at == body_at || data[at - 1] != '\r';
    dst -= src - at;
    std::memmove(data + dst, data + at, src - at);
    src = at;
    if (is_bare) {
      data[--dst] = '\r';
      --bare;
    }
  }
  std::memmove(data + head.size(), data + body_at, src - body_at);
  std::memcpy(data, head.data(), head.size());
  text.resize(total);
}

std::string DecodedSubject(const std::vector<HeaderField>& fields) {
  const HeaderField* subject = FindField(fields, "Subject");
  if (subject == nullptr) return {};
  const std::string value = subject->Value();
  GCharPtr decoded(g_mime_utils_header_decode_text(nullptr, value.c_str()));
  return SingleLine(decoded != nullptr ? decoded.get() : "", kMaxSummary);
}

// The id of the Message-ID field, as GMime reads it in a report's original (mime/
// bounce_message.cc), so that the two compare equal.
std::string MessageIdOf(const HeaderField& field) {
  constexpr std::size_t kMaxMessageId = 255;
  const std::string value = field.Value();
  char* id = g_mime_utils_decode_message_id(value.c_str());
  if (id == nullptr) return {};
  std::string out(id);
  g_free(id);
  if (out.size() > kMaxMessageId || out.find_first_of("\r\n") != std::string::npos) return {};
  return out;
}

std::string OriginatingScript(const std::vector<HeaderField>& fields) {
  const HeaderField* script = FindField(fields, "X-PHP-Originating-Script");
  return script != nullptr ? SingleLine(script->Value(), kMaxSummary) : std::string();
}

// ---- Lines of at most 998 bytes (RFC 5322 2.1.1), whatever came in ----

bool IsWsp(char c) { return c == ' ' || c == '\t'; }

// Appends one physical header line and its CRLF, folded (RFC 5322 3.2.2: a CRLF before white
// space) where it is over kMaxHeaderLine: at the last white space that fits, after something
// that is not white space. A line with no such place is refused rather than sent as it is
// or cut: a header is meaning, and a cut one (an address, a token) would be silently wrong.
Result<void> AppendFolded(std::string& head, std::string_view line, std::string_view owner) {
  while (line.size() > kMaxHeaderLine) {
    std::size_t first_text = 0;
    while (first_text < line.size() && IsWsp(line[first_text])) ++first_text;
    std::size_t fold = kMaxHeaderLine;
    while (fold > first_text && !IsWsp(line[fold])) --fold;
    if (fold <= first_text) {
      return Fail(ErrorCode::kInvalidInput,
                  fmt::format("a line of the {} header is {} bytes long, over the limit of {}, "
                              "and has no white space where it could be folded",
                              Quote(owner), line.size(), kMaxHeaderLine));
    }
    head.append(line.substr(0, fold));
    head.append("\r\n");
    line.remove_prefix(fold);
  }
  head.append(line);
  head.append("\r\n");
  return {};
}

// The length of the longest line of text, its line end (LF or CRLF) not counted.
std::size_t LongestLine(std::string_view text) {
  std::size_t longest = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t lf = text.find('\n', start);
    const std::size_t next = lf == std::string_view::npos ? text.size() : lf + 1;
    std::size_t end = lf == std::string_view::npos ? text.size() : lf;
    if (end > start && lf != std::string_view::npos && text[end - 1] == '\r') --end;
    longest = std::max(longest, end - start);
    start = next;
  }
  return longest;
}

std::string StreamText(GMimeStream* stream) {
  GObjectPtr<GMimeStream> memory(g_mime_stream_mem_new());
  g_mime_stream_reset(stream);
  g_mime_stream_write_to_stream(stream, memory.get());
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(memory.get()));
  return std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
}

// Re-encodes each leaf part whose lines, as the message holds them, are over kMaxHeaderLine:
// its decoded content becomes quoted-printable (text), or base64 when it was base64 already or
// GMime judges it binary-looking. Decoding first also mends a quoted-printable or base64 part that
// its sender wrote with over-long lines. Parts under multipart/signed or multipart/encrypted
// are left alone (re-encoding them would break what they protect). Returns true if a part
// changed.
bool ReencodeLongLines(GMimeObject* object) {
  if (object == nullptr) return false;
  if (GMIME_IS_MULTIPART(object)) {
    GMimeContentType* type = g_mime_object_get_content_type(object);
    if (type != nullptr && (g_mime_content_type_is_type(type, "multipart", "signed") ||
                            g_mime_content_type_is_type(type, "multipart", "encrypted"))) {
      return false;
    }
    bool changed = false;
    auto* multipart = GMIME_MULTIPART(object);
    const int count = g_mime_multipart_get_count(multipart);
    for (int i = 0; i < count; ++i) {
      changed = ReencodeLongLines(g_mime_multipart_get_part(multipart, i)) || changed;
    }
    return changed;
  }
  if (GMIME_IS_MESSAGE_PART(object)) {
    GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
    return inner != nullptr && ReencodeLongLines(g_mime_message_get_mime_part(inner));
  }
  if (!GMIME_IS_PART(object)) return false;
  auto* part = GMIME_PART(object);
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (content == nullptr) return false;
  if (LongestLine(StreamText(g_mime_data_wrapper_get_stream(content))) <= kMaxHeaderLine) {
    return false;
  }
  const GMimeContentEncoding was = g_mime_part_get_content_encoding(part);
  GObjectPtr<GMimeStream> decoded(g_mime_stream_mem_new());
  g_mime_data_wrapper_write_to_stream(content, decoded.get());
  g_mime_stream_reset(decoded.get());
  GObjectPtr<GMimeDataWrapper> plain(
      g_mime_data_wrapper_new_with_stream(decoded.get(), GMIME_CONTENT_ENCODING_DEFAULT));
  g_mime_part_set_content(part, plain.get());
  // Text stays readable as quoted-printable, however much of it is 8-bit (UTF-8); other
  // content goes as GMime judges best, base64 when it looks binary.
  GMimeContentType* type = g_mime_object_get_content_type(object);
  const bool text = type == nullptr || g_mime_content_type_is_type(type, "text", "*");
  GMimeContentEncoding encoding = GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
  if (was == GMIME_CONTENT_ENCODING_BASE64) {
    encoding = GMIME_CONTENT_ENCODING_BASE64;
  } else if (!text) {
    encoding = g_mime_part_get_best_content_encoding(part, GMIME_ENCODING_CONSTRAINT_7BIT);
  }
  if (encoding != GMIME_CONTENT_ENCODING_BASE64) encoding = GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
  g_mime_part_set_content_encoding(part, encoding);
  return true;
}

// Every line end as CRLF (what GMime writes is normalised so, whatever it kept).
std::string WithCrlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out.push_back('\r');
    out.push_back(text[i]);
  }
  return out;
}

// Postfix's way (smtp_line_length_limit = 998), where re-encoding could not apply: a line still
// over kMaxHeaderLine is broken by inserting CRLF and a space, which keeps a MIME header line a
// folded header; the break is moved back to a UTF-8 character boundary.
std::string BreakLongLines(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 256);
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t lf = text.find('\n', start);
    const std::size_t next = lf == std::string_view::npos ? text.size() : lf + 1;
    std::size_t end = lf == std::string_view::npos ? text.size() : lf;
    if (end > start && lf != std::string_view::npos && text[end - 1] == '\r') --end;
    std::string_view line = text.substr(start, end - start);
    std::size_t room = kMaxHeaderLine;
    while (line.size() > room) {
      std::size_t cut = room;
      for (int back = 0;
           back < 3 && cut > 1 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80; ++back) {
        --cut;
      }
      out.append(line.substr(0, cut));
      out.append("\r\n ");
      line.remove_prefix(cut);
      room = kMaxHeaderLine - 1;
    }
    out.append(line);
    out.append(text.substr(end, next - end));
    start = next;
  }
  return out;
}

// Where the body of a message with CRLF line ends starts.
std::size_t HeaderSectionEnd(std::string_view message) {
  const std::size_t blank = message.find("\r\n\r\n");
  return blank == std::string_view::npos ? message.size() : blank + 4;
}

// True if a header section (CRLF line ends) has a Content-Type field.
bool HasContentType(std::string_view head) {
  constexpr std::string_view kName = "content-type:";
  for (std::size_t at = 0; at < head.size();) {
    if (head.size() - at >= kName.size() &&
        g_ascii_strncasecmp(head.data() + at, kName.data(), kName.size()) == 0) {
      return true;
    }
    const std::size_t eol = head.find("\r\n", at);
    if (eol == std::string_view::npos) break;
    at = eol + 2;
  }
  return false;
}

// True if the body (from `body_at` on) holds 8-bit bytes and is valid UTF-8.
bool IsEightBitUtf8(std::size_t body_at, std::string_view message) {
  const std::string_view body = message.substr(body_at);
  const bool eight_bit =
      std::ranges::any_of(body, [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
  return eight_bit && g_utf8_validate(body.data(), static_cast<gssize>(body.size()), nullptr);
}

// Makes every line of a prepared message (CRLF line ends, its own header section already
// within the limit) at most kMaxHeaderLine bytes: by re-encoding the parts that hold long
// lines, and by breaking the lines that are left (part headers, a multipart's preamble, signed
// or encrypted parts, a message GMime cannot read).
std::string FitLongLines(const std::string& message) {
  std::string fitted;
  GObjectPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(message.data(), message.size()));
  GObjectPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  GObjectPtr<GMimeMessage> parsed(g_mime_parser_construct_message(parser.get(), nullptr));
  // A script that wrote raw UTF-8 without a Content-Type left the reader to guess; once the
  // text is quoted-printable a reader no longer can, so it is said.
  const std::size_t body_at = HeaderSectionEnd(message);
  const bool utf8_untyped = !HasContentType(std::string_view(message).substr(0, body_at)) &&
                            IsEightBitUtf8(body_at, message);
  if (parsed != nullptr && ReencodeLongLines(g_mime_message_get_mime_part(parsed.get()))) {
    GMimeObject* top = GMIME_OBJECT(parsed.get());
    if (g_mime_object_get_header(top, "MIME-Version") == nullptr) {
      g_mime_object_set_header(top, "MIME-Version", "1.0", nullptr);
    }
    GMimeObject* body = g_mime_message_get_mime_part(parsed.get());
    if (utf8_untyped && GMIME_IS_TEXT_PART(body)) {
      g_mime_text_part_set_charset(GMIME_TEXT_PART(body), "utf-8");
    }
    FormatOptionsPtr options(g_mime_format_options_new());
    g_mime_format_options_set_newline_format(options.get(), GMIME_NEWLINE_FORMAT_DOS);
    GObjectPtr<GMimeStream> out(g_mime_stream_mem_new());
    g_mime_object_write_to_stream(top, options.get(), out.get());
    fitted = WithCrlf(StreamText(out.get()));
  } else {
    fitted = message;
  }
  if (LongestLine(fitted) > kMaxHeaderLine) fitted = BreakLongLines(fitted);
  return fitted;
}

Result<void> CheckRaw(std::string_view raw, const PrepareContext& context) {
  if (static_cast<std::int64_t>(raw.size()) > context.max_bytes) {
    return Fail(ErrorCode::kTooLarge, fmt::format("message is {} bytes, over the limit of {}",
                                                  raw.size(), context.max_bytes));
  }
  if (const std::size_t nul = raw.find('\0'); nul != std::string_view::npos) {
    return Fail(ErrorCode::kInvalidInput,
                fmt::format("message holds a NUL byte at offset {}; mail must be text", nul));
  }
  return {};
}

}  // namespace

void InitMime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

Result<PreparedMessage> PrepareMessage(std::string raw, const SubmitEnvelope& envelope,
                                       const PrepareContext& context) {
  InitMime();
  if (auto ok = CheckRaw(raw, context); !ok) return std::unexpected(ok.error());
  auto split = SplitHeaderSection(raw);
  if (!split) return std::unexpected(split.error());
  const std::vector<HeaderField>& fields = split->fields;

  PreparedMessage message;
  auto recipients = CollectRecipients(envelope, fields);
  if (!recipients) return std::unexpected(recipients.error());
  message.recipients = std::move(*recipients);
  auto sender = EnvelopeSender(envelope, fields, context);
  if (!sender) return std::unexpected(sender.error());
  message.sender = std::move(*sender);
  message.subject = DecodedSubject(fields);
  message.script = OriginatingScript(fields);
  if (const HeaderField* from = FindField(fields, "From")) {
    auto addresses = HeaderAddresses(*from);
    if (addresses && !addresses->empty()) {
      message.from_addresses = std::move(*addresses);
    } else {
      message.from_addresses.emplace_back("(unreadable From)");
    }
  } else {
    message.sender_defaulted = !envelope.sender;
  }

  const std::string date = FormatDate(context.now);
  const std::string host = Atom(context.hostname, "localhost");
  std::string head = fmt::format(
      "Received: from account {} (uid {})\r\n\tby {} (mailwarden) with {};\r\n\t{}\r\n",
      Atom(context.account, "unknown"), context.uid, host, Atom(context.protocol, "local"), date);
  for (const HeaderField& field : fields) {
    // Blind copies stay blind: Bcc never travels with the message, -t or not, nor the
    // Resent-Bcc of a message sent on again.
    if (EqualsIgnoreCase(field.name, "Bcc") || EqualsIgnoreCase(field.name, "Resent-Bcc")) {
      continue;
    }
    for (std::string_view line : field.lines) {
      if (auto folded = AppendFolded(head, line, field.name); !folded) {
        return std::unexpected(folded.error());
      }
    }
  }
  if (FindField(fields, "Date") == nullptr) head += "Date: " + date + "\r\n";
  if (const HeaderField* id = FindField(fields, "Message-ID")) {
    message.message_id = MessageIdOf(*id);
  } else {
    message.message_id = NewMessageId(host);
    head += fmt::format("Message-ID: <{}>\r\n", message.message_id);
  }
  if (FindField(fields, "From") == nullptr) {
    const bool has_sender = envelope.sender && !message.sender.empty();
    const std::string address = has_sender ? message.sender : DefaultAddress(context);
    head += FromHeader(envelope.full_name, address);
  }
  head += "\r\n";

  // The fields' views into raw are not used past here: raw becomes the message.
  const auto body_at = static_cast<std::size_t>(split->body.data() - raw.data());
  const std::size_t body_size = split->body.size();
  const LineEnds ends = CountLineEnds(split->body);
  PlaceMessage(raw, head, body_at, body_size, ends);
  // Lines over 998 bytes are made to fit here, when the message is stored, rather than when it
  // is relayed: what is held, shown in the panel and signed is then byte for byte what leaves.
  // Only a message that has such a line pays for it.
  if (ends.longest > kMaxHeaderLine) raw = FitLongLines(raw);
  message.body = std::move(raw);
  return message;
}

std::string NewMessageId(std::string_view host) {
  thread_local std::mt19937_64 random{[] {
    std::random_device seed;  // once per thread
    return (std::uint64_t{seed()} << 32) | seed();
  }()};
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return fmt::format("{}.{:016x}@{}",
                     std::chrono::duration_cast<std::chrono::milliseconds>(now).count(), random(),
                     host);
}

Result<std::string> ParseSingleAddress(std::string_view text) {
  InitMime();
  if (text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    return Fail(ErrorCode::kInvalidInput,
                "the address " + Quote(text) + " contains a line break or a NUL byte");
  }
  const std::string_view trimmed = TrimAscii(text);
  if (trimmed.empty()) return Fail(ErrorCode::kInvalidInput, "the address is empty");
  if (trimmed.size() > kMaxAddress) {
    return Fail(ErrorCode::kInvalidInput,
                fmt::format("the address is {} bytes long, over the limit of {}", trimmed.size(),
                            kMaxAddress));
  }
  const std::string value(trimmed);
  GObjectPtr<InternetAddressList> list(internet_address_list_parse(nullptr, value.c_str()));
  if (list == nullptr || internet_address_list_length(list.get()) == 0) {
    return Fail(ErrorCode::kInvalidInput, Quote(value) + " is not an e-mail address");
  }
  if (const int count = internet_address_list_length(list.get()); count != 1) {
    return Fail(ErrorCode::kInvalidInput,
                fmt::format("{} holds {} addresses; give exactly one", Quote(value), count));
  }
  InternetAddress* address = internet_address_list_get_address(list.get(), 0);
  if (IsGroup(address)) {
    return Fail(ErrorCode::kInvalidInput, Quote(value) + " is a group, not a single address");
  }
  const char* addr =
      internet_address_mailbox_get_addr(reinterpret_cast<InternetAddressMailbox*>(address));
  std::string bare = addr != nullptr ? addr : "";
  if (!IsPlainAddress(bare)) {
    return Fail(ErrorCode::kInvalidInput, Quote(value) + " is not a plain address local@domain");
  }
  return bare;
}

}  // namespace mailwarden
