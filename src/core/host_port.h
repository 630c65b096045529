// Network addresses as written in the configuration and on the command line: "host:port" or
// "[IPv6]:port". One rule set for every listener and every peer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace mailwarden {

struct HostPort {
  std::string host;  // a name or an address, IPv6 without its brackets
  std::uint16_t port = 0;
};

// Whether port 0 may be given. A listener on port 0 takes a port the system chooses (tests
// do this); a peer on port 0 cannot be reached.
enum class PortZero { kRefused, kAllowed };

// Parses "host:port" (host not empty and without ':') or "[address]:port" (the form an IPv6
// address must take). port: decimal digits from 1 to 65535, or 0 when port_zero allows it.
// The host is not resolved nor checked further. On failure: kInvalidInput with a sentence
// that quotes text.
Result<HostPort> ParseHostPort(std::string_view text, PortZero port_zero = PortZero::kRefused);

// "host:port", or "[host]:port" when host contains ':' (an IPv6 address): what ParseHostPort
// reads back.
std::string FormatHostPort(std::string_view host, std::uint16_t port);

}  // namespace mailwarden
