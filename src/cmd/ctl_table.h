// How mailwardenctl shows the API's answers: text a terminal can show safely (no control
// characters from a subject or a reason), tables with aligned columns, one field a line.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace mailwarden {

using json = nlohmann::json;

// Width on a terminal, counting UTF-8 code points.
std::size_t DisplayWidth(std::string_view s);
// Control characters out (C0, DEL and C1 become '?'), then cut to max code points, the cut
// marked with "...".
std::string Clean(std::string_view s, std::size_t max = std::string::npos);
// A JSON value in a table's cell: "-" for null, strings cleaned and cut, lists joined.
std::string Cell(const json& v);
// object[key], or null when it is not an object or has no such key.
const json& Field(const json& object, const char* key);
// The rows under the headers, each column as wide as its widest cell.
void PrintTable(const std::vector<std::string>& headers,
                const std::vector<std::vector<std::string>>& rows);
// The answer's "items" as a table of these keys, or `none` when there are none.
void PrintItems(const json& body, const std::vector<std::string>& headers,
                const std::vector<const char*>& keys, std::string_view none);
// GET .../email, a POST .../request answer or a new account: one field a line.
void PrintStatus(const json& s);
// A value as text: strings cleaned, null empty, anything else as JSON.
std::string Text(const json& value);

}  // namespace mailwarden
