#include "identity/dkim_canon.h"

namespace mailwarden {
namespace {

bool IsWsp(char c) { return c == ' ' || c == '\t'; }

// Appends `text` with runs of WSP as one space and none at the end.
void AppendCompressed(std::string& out, std::string_view text) {
  bool pending_space = false;
  for (const char c : text) {
    if (IsWsp(c)) {
      pending_space = true;
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
}

}  // namespace

SplitMessage SplitHeaderAndBody(std::string_view message) {
  SplitMessage split;
  std::size_t at = 0;
  std::size_t field_start = std::string_view::npos;
  std::size_t field_end = 0;
  std::size_t name_end = 0;
  const auto close_field = [&] {
    if (field_start == std::string_view::npos) return;
    split.fields.push_back({message.substr(field_start, name_end - field_start),
                            message.substr(field_start, field_end - field_start)});
    field_start = std::string_view::npos;
  };
  while (at < message.size()) {
    std::size_t end = message.find("\r\n", at);
    if (end == std::string_view::npos) end = message.size();
    const std::string_view line = message.substr(at, end - at);
    if (line.empty()) {  // the header section ends
      close_field();
      split.body = end + 2 <= message.size() ? message.substr(end + 2) : std::string_view();
      return split;
    }
    if (IsWsp(line.front())) {
      if (field_start != std::string_view::npos) field_end = end;
    } else {
      close_field();
      const std::size_t colon = line.find(':');
      if (colon != std::string_view::npos && colon > 0) {
        std::size_t name_stop = colon;
        while (name_stop > 0 && IsWsp(line[name_stop - 1])) --name_stop;
        field_start = at;
        name_end = at + name_stop;
        field_end = end;
      }
    }
    at = end + 2;
  }
  close_field();
  return split;
}

std::string RelaxedHeaderField(std::string_view field) {
  const std::size_t colon = field.find(':');
  if (colon == std::string_view::npos) return {};
  std::string out;
  out.reserve(field.size() + 2);
  std::string_view name = field.substr(0, colon);
  while (!name.empty() && IsWsp(name.back())) name.remove_suffix(1);
  for (const char c : name) {
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  out += ':';
  // Unfold: a CRLF is dropped, the WSP after it stays (and is compressed below).
  std::string value;
  value.reserve(field.size() - colon);
  const std::string_view rest = field.substr(colon + 1);
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '\r' && i + 1 < rest.size() && rest[i + 1] == '\n') {
      ++i;
      continue;
    }
    value += rest[i];
  }
  std::string_view trimmed = value;
  while (!trimmed.empty() && IsWsp(trimmed.front())) trimmed.remove_prefix(1);
  AppendCompressed(out, trimmed);
  out += "\r\n";
  return out;
}

std::string RelaxedBody(std::string_view body) {
  std::string out;
  out.reserve(body.size() + 2);
  std::size_t blank_run = 0;  // empty lines seen and not yet written
  std::size_t at = 0;
  while (at < body.size()) {
    std::size_t end = body.find("\r\n", at);
    const bool last = end == std::string_view::npos;
    if (last) end = body.size();
    std::string line;
    AppendCompressed(line, body.substr(at, end - at));
    if (line.empty()) {
      ++blank_run;
    } else {
      for (; blank_run > 0; --blank_run) out += "\r\n";
      out += line;
      out += "\r\n";
    }
    at = last ? body.size() : end + 2;
  }
  return out;
}

}  // namespace mailwarden
