// libFuzzer target for the SMTP server's parsers: arbitrary bytes go to the command parser, the
// SASL decoders and the DATA reader. Beyond "no crash, no sanitizer report", the DATA reader
// is checked against a plain model of RFC 5321 4.5.2 written for clarity rather than speed,
// and fed in two different cuttings that must agree. Build and run with fuzz/run.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "smtp/smtp_command.h"
#include "smtp/smtp_data_reader.h"

namespace mailwarden {
namespace {

constexpr std::size_t kLimit = 512;  // small, so that the size bound is reached often

void Check(bool condition) {
  if (!condition) std::abort();
}

bool IsPrintable(std::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

void FuzzCommand(std::string_view line) {
  SmtpServerReply refusal;
  auto command = ParseSmtpCommand(line, &refusal);
  if (!command) {
    // A refusal is sent to the client as it is: it must be one clean reply line.
    Check(refusal.code >= 500 && refusal.code <= 555);
    Check(IsPrintable(refusal.text));
    return;
  }
  Check(line.size() + 2 <= kMaxCommandLineBytes);
  if ((command->verb == SmtpVerb::kMail || command->verb == SmtpVerb::kRcpt) &&
      !command->address.empty()) {
    Check(IsValidMailbox(command->address));
    Check(IsPrintable(command->address));
  }
  if (command->verb == SmtpVerb::kRcpt) Check(!command->address.empty());
  if (command->verb == SmtpVerb::kEhlo || command->verb == SmtpVerb::kHelo) {
    Check(!command->argument.empty() && IsPrintable(command->argument));
  }
}

void FuzzSasl(std::string_view text) {
  if (auto decoded = DecodeBase64(text)) {
    Check(DecodeBase64(EncodeBase64(*decoded)) == decoded);
  }
  const std::string encoded = EncodeBase64(text);
  Check(DecodeBase64(encoded) == std::string(text));
  if (auto plain = ParseSaslPlain(text)) {
    Check(!plain->user.empty() && !plain->password.empty());
    Check(plain->user.find('\0') == std::string::npos);
  }
}

struct Read {
  bool done = false;
  std::size_t consumed = 0;
  SmtpDataOutcome outcome = SmtpDataOutcome::kAccepted;
  std::string message;
};

Read ReadInChunks(std::string_view input, std::size_t chunk) {
  SmtpDataReader reader(kLimit);
  Read read;
  for (std::size_t pos = 0; pos < input.size() && !reader.done(); pos += chunk) {
    const std::string_view piece = input.substr(pos, chunk);
    const std::size_t used = reader.Feed(piece);
    Check(used <= piece.size());
    if (!reader.done()) Check(used == piece.size());
    read.consumed += used;
  }
  read.done = reader.done();
  Check(reader.wire_bytes() == read.consumed);
  if (read.done) {
    read.outcome = reader.outcome();
    read.message = reader.TakeMessage();
  }
  return read;
}

// The model: data ends at the first "." CRLF that starts the input or follows a CRLF.
Read Model(std::string_view input) {
  Read read;
  std::size_t end = std::string_view::npos;
  for (std::size_t p = 0; p + 3 <= input.size(); ++p) {
    if (input.substr(p, 3) == ".\r\n" && (p == 0 || (p >= 2 && input.substr(p - 2, 2) == "\r\n"))) {
      end = p;
      break;
    }
  }
  if (end == std::string_view::npos) {
    read.consumed = input.size();
    return read;
  }
  read.done = true;
  read.consumed = end + 3;
  const std::string_view body = input.substr(0, end);
  // Lines start only after CRLF: there a first "." followed by more is deleted. Inside a line,
  // a bare CR or LF is stored as CRLF. Lines of any length are accepted.
  std::string message;
  std::size_t pos = 0;
  while (pos < body.size()) {
    const std::size_t crlf = body.find("\r\n", pos);
    std::string_view line = body.substr(pos, crlf - pos);
    if (line.size() > 1 && line.front() == '.') line.remove_prefix(1);
    for (const char c : line) {
      if (c == '\r' || c == '\n') {
        message.append("\r\n");
      } else {
        message.push_back(c);
      }
    }
    message.append("\r\n");
    pos = crlf + 2;
  }
  if (message.size() > kLimit) {
    read.outcome = SmtpDataOutcome::kTooLarge;
  } else {
    read.message = std::move(message);
  }
  return read;
}

void FuzzData(std::string_view input, std::size_t chunk) {
  const Read whole = ReadInChunks(input, input.size() + 1);
  const Read cut = ReadInChunks(input, chunk);
  Check(whole.done == cut.done);
  Check(whole.consumed == cut.consumed);
  Check(whole.outcome == cut.outcome);
  Check(whole.message == cut.message);

  const Read model = Model(input);
  Check(whole.done == model.done);
  Check(whole.consumed == model.consumed);
  if (!whole.done) return;
  Check(whole.outcome == model.outcome);
  Check(whole.message == model.message);
  if (whole.outcome == SmtpDataOutcome::kAccepted) {
    Check(whole.message.size() <= kLimit);
  }
}

}  // namespace
}  // namespace mailwarden

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0] % 17;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  mailwarden::FuzzCommand(input);
  std::size_t pos = 0;
  while (pos <= input.size()) {
    const std::size_t lf = input.find("\r\n", pos);
    const std::size_t end = lf == std::string_view::npos ? input.size() : lf;
    mailwarden::FuzzCommand(input.substr(pos, end - pos));
    if (lf == std::string_view::npos) break;
    pos = lf + 2;
  }
  mailwarden::FuzzSasl(input);
  mailwarden::FuzzData(input, chunk);
  return 0;
}
