// DKIM's relaxed canonicalisation (RFC 6376 3.4.2 and 3.4.4) and the header fields of a
// message as a signer picks them (RFC 6376 5.4.2): the pure text work of signing, apart from
// keys and hashes.
//
// Pure functions over CRLF text: thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mailwarden {

// One header field as it stands in the message: "Name: value", continuation lines included,
// without its final CRLF.
struct HeaderField {
  std::string_view name;  // as written
  std::string_view text;  // the whole field
};

// The header section's fields in order and the body (after the empty line; empty when the
// message has none). Lines end in CRLF; a header line that is neither a field nor a
// continuation is skipped, as a verifier does not see it as a field either.
struct SplitMessage {
  std::vector<HeaderField> fields;
  std::string_view body;
};
SplitMessage SplitHeaderAndBody(std::string_view message);

// "name:value\r\n": the name in lower case, the value unfolded, every run of spaces and tabs
// one space, none at either end.
std::string RelaxedHeaderField(std::string_view field);

// The body with every run of spaces and tabs one space, none at a line's end, no empty lines
// at its end, and ending in CRLF unless it is empty.
std::string RelaxedBody(std::string_view body);

}  // namespace mailwarden
