// For the tests of message preparation only: the fixture (a fixed clock and context) and the
// helpers that read a prepared message back.
#pragma once

#include <gmime/gmime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mime/gmime_ptr.h"
#include "mime/message_prep.h"

namespace mailwarden::prep_testing {

using namespace std::chrono_literals;
using Strings = std::vector<std::string>;

// Thu, 26 Nov 2026 21:00:00 UTC
inline const TimePoint kNow = std::chrono::sys_days{std::chrono::year{2026} / 11 / 26} + 21h;

inline void SetTimeZone(const char* tz) {
  setenv("TZ", tz, 1);
  tzset();
}

class MessagePrepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitMime();
    SetTimeZone("UTC0");
    context_.account = "demo";
    context_.uid = 1000;
    context_.hostname = "web1.example.net";
    context_.now = kNow;
  }

  Result<PreparedMessage> Prepare(std::string_view raw, const SubmitEnvelope& envelope) {
    return PrepareMessage(std::string(raw), envelope, context_);
  }

  PreparedMessage MustPrepare(std::string_view raw, const SubmitEnvelope& envelope) {
    auto prepared = Prepare(raw, envelope);
    EXPECT_TRUE(prepared.has_value()) << (prepared ? "" : prepared.error().message);
    return prepared ? *prepared : PreparedMessage{};
  }

  PrepareContext context_;
};

inline SubmitEnvelope Extract(Strings recipients = {}) {
  SubmitEnvelope envelope;
  envelope.extract_recipients = true;
  envelope.recipients = std::move(recipients);
  return envelope;
}

inline SubmitEnvelope To(Strings recipients) {
  SubmitEnvelope envelope;
  envelope.recipients = std::move(recipients);
  return envelope;
}

inline std::string_view HeaderSection(std::string_view body) {
  return body.substr(0, body.find("\r\n\r\n") + 2);
}

inline std::string_view BodyAfterHeaders(std::string_view body) {
  const std::size_t end = body.find("\r\n\r\n");
  return end == std::string_view::npos ? std::string_view() : body.substr(end + 4);
}

// The physical lines (CRLF removed) of the header fields named `name`, folded lines included.
inline Strings FieldLines(std::string_view body, std::string_view name) {
  Strings out;
  std::string_view headers = HeaderSection(body);
  bool in_field = false;
  while (!headers.empty()) {
    const std::size_t eol = headers.find("\r\n");
    const std::string_view line = headers.substr(0, eol);
    headers.remove_prefix(eol + 2);
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
      if (in_field) out.back() += "\r\n" + std::string(line);
      continue;
    }
    in_field = line.size() > name.size() && line[name.size()] == ':' &&
               g_ascii_strncasecmp(line.data(), name.data(), name.size()) == 0;
    if (in_field) out.emplace_back(line);
  }
  return out;
}

inline std::size_t CountFields(std::string_view body, std::string_view name) {
  return FieldLines(body, name).size();
}

}  // namespace mailwarden::prep_testing
