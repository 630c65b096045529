#include "core/host_port.h"

#include <charconv>

#include "core/text.h"

namespace mailwarden {

Result<HostPort> ParseHostPort(std::string_view text, PortZero port_zero) {
  const auto quoted = [&] { return Quoted(text); };
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || text.substr(close + 1, 1) != ":") {
      return Fail(ErrorCode::kInvalidInput, quoted() + " must be [address]:port");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) {
      return Fail(ErrorCode::kInvalidInput, quoted() + " must be host:port");
    }
    if (text.find(':', colon + 1) != std::string_view::npos) {
      return Fail(ErrorCode::kInvalidInput,
                  quoted() + " must be host:port; write an IPv6 address as [address]:port");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) return Fail(ErrorCode::kInvalidInput, quoted() + " has no host");
  const unsigned min = port_zero == PortZero::kAllowed ? 0 : 1;
  unsigned number = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (port.empty() || port.size() > 5 || ec != std::errc() || end != port.data() + port.size() ||
      number < min || number > 65535) {
    return Fail(ErrorCode::kInvalidInput,
                quoted() + ": the port must be a number from " + std::to_string(min) + " to 65535");
  }
  return HostPort{std::string(host), static_cast<std::uint16_t>(number)};
}

std::string FormatHostPort(std::string_view host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  std::string text;
  if (v6) text += '[';
  text += host;
  if (v6) text += ']';
  text += ':';
  text += std::to_string(port);
  return text;
}

}  // namespace mailwarden
