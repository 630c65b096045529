// Durations as written in the configuration: a number with a unit, e.g. "72h", "2s", "1d12h".
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "core/types.h"

namespace mailwarden {

// Parses one or more "<digits><unit>" parts, unit one of ms, s, m, h, d. Fails with
// kInvalidInput and a sentence naming the problem; the result is never negative.
Result<Duration> ParseDuration(std::string_view text);

// The shortest spelling ParseDuration reads back to the same value ("90s" -> "1m30s").
std::string FormatDuration(Duration d);

}  // namespace mailwarden
