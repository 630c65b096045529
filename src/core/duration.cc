#include "core/duration.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "core/text.h"

namespace mailwarden {
namespace {

struct Unit {
  std::string_view name;
  std::int64_t millis;
};
// Longest names first so that "ms" is not read as "m".
constexpr std::array<Unit, 5> kUnits{
    {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}}};

std::unexpected<Error> NotADuration(std::string_view text, std::string_view why) {
  return Fail(ErrorCode::kInvalidInput, Quoted(text) + " " + std::string(why));
}

}  // namespace

Result<Duration> ParseDuration(std::string_view text) {
  if (text.empty())
    return Fail(ErrorCode::kInvalidInput, "a duration needs a number and a unit, e.g. \"72h\"");
  std::int64_t total = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    std::int64_t value = 0;
    if (rest.front() < '0' || rest.front() > '9') {
      return NotADuration(text, "is not a duration: expected a number, e.g. \"72h\"");
    }
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
    if (ec != std::errc() || ptr == rest.data()) {
      return NotADuration(text, "is not a duration: expected a number, e.g. \"72h\"");
    }
    rest.remove_prefix(static_cast<std::size_t>(ptr - rest.data()));
    const Unit* unit = nullptr;
    for (const auto& u : kUnits) {
      if (rest.starts_with(u.name)) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) {
      return NotADuration(text, "is not a duration: each number needs a unit (ms, s, m, h or d)");
    }
    rest.remove_prefix(unit->name.size());
    if (value > (std::numeric_limits<std::int64_t>::max() - total) / unit->millis) {
      return NotADuration(text, "is too long a duration");
    }
    total += value * unit->millis;
  }
  return Duration(total);
}

std::string FormatDuration(Duration d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  for (auto it = kUnits.rbegin(); it != kUnits.rend(); ++it) {
    if (ms >= it->millis) {
      out += std::to_string(ms / it->millis);
      out += it->name;
      ms %= it->millis;
    }
  }
  return out;
}

}  // namespace mailwarden
