#include "core/duration.h"

#include <gtest/gtest.h>

namespace mailwarden {
namespace {

struct DurationCase {
  std::string_view text;
  std::int64_t millis;
};

TEST(ParseDuration, ReadsUnitsAndSums) {
  const DurationCase cases[] = {
      {"0s", 0},
      {"2s", 2000},
      {"250ms", 250},
      {"5m", 300'000},
      {"72h", 259'200'000},
      {"5d", 432'000'000},
      {"1h30m", 5'400'000},
      {"1d12h", 129'600'000},
  };
  for (const auto& c : cases) {
    auto d = ParseDuration(c.text);
    ASSERT_TRUE(d.has_value()) << c.text << ": " << d.error().message;
    EXPECT_EQ(d->count(), c.millis) << c.text;
  }
}

TEST(ParseDuration, RefusesWhatIsNotADuration) {
  for (std::string_view bad :
       {"", "72", "h", "3 h", "-1s", "1x", "1.5h", "s5", "99999999999999999999d"}) {
    auto d = ParseDuration(bad);
    EXPECT_FALSE(d.has_value()) << bad;
    if (!d) {
      EXPECT_EQ(d.error().code, ErrorCode::kInvalidInput);
    }
  }
}

TEST(FormatDuration, RoundTrips) {
  for (std::string_view text : {"0s", "2s", "250ms", "1m30s", "72h", "5d", "1d12h"}) {
    auto d = ParseDuration(text);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(ParseDuration(FormatDuration(*d)).value(), *d) << text;
  }
  EXPECT_EQ(FormatDuration(Duration(90'000)), "1m30s");
}

}  // namespace
}  // namespace mailwarden
