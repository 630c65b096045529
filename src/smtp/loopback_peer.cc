#include "smtp/loopback_peer.h"

#include <fmt/format.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace mailwarden {
namespace {

// An endpoint as the tables write it: the address's 32-bit words each in the host's byte order
// as %08X (upper case), then ':' and the port as %04X.
std::string TableEndpoint(const boost::asio::ip::tcp::endpoint& ep) {
  std::string out;
  auto words = [&](const unsigned char* bytes, std::size_t size) {
    for (std::size_t i = 0; i < size; i += 4) {
      // A word read from memory as the kernel prints it: little-endian on this host.
      const std::uint32_t word = std::uint32_t{bytes[i]} | std::uint32_t{bytes[i + 1]} << 8 |
                                 std::uint32_t{bytes[i + 2]} << 16 |
                                 std::uint32_t{bytes[i + 3]} << 24;
      out += fmt::format("{:08X}", word);
    }
  };
  if (ep.address().is_v4()) {
    const auto bytes = ep.address().to_v4().to_bytes();
    words(bytes.data(), bytes.size());
  } else {
    const auto bytes = ep.address().to_v6().to_bytes();
    words(bytes.data(), bytes.size());
  }
  out += fmt::format(":{:04X}", ep.port());
  return out;
}

std::string ReadFile(const char* path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::optional<Uid> FindSocketUid(std::string_view table,
                                 const boost::asio::ip::tcp::endpoint& client,
                                 const boost::asio::ip::tcp::endpoint& server) {
  const std::string local = TableEndpoint(client);
  const std::string remote = TableEndpoint(server);
  std::size_t at = table.find('\n');  // the first line names the columns
  while (at != std::string_view::npos && at + 1 < table.size()) {
    const std::size_t end = table.find('\n', at + 1);
    std::string_view line =
        table.substr(at + 1, end == std::string_view::npos ? end : end - at - 1);
    at = end;
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid ...
    std::string_view fields[8];
    std::size_t count = 0;
    std::size_t pos = 0;
    while (count < 8) {
      pos = line.find_first_not_of(' ', pos);
      if (pos == std::string_view::npos) break;
      const std::size_t stop = std::min(line.find(' ', pos), line.size());
      fields[count++] = line.substr(pos, stop - pos);
      pos = stop;
    }
    if (count < 8 || fields[1] != local || fields[2] != remote) {
      continue;
    }
    Uid uid = 0;
    const auto [ptr, ec] =
        std::from_chars(fields[7].data(), fields[7].data() + fields[7].size(), uid);
    if (ec != std::errc() || ptr != fields[7].data() + fields[7].size()) return std::nullopt;
    return uid;
  }
  return std::nullopt;
}

std::optional<Uid> LoopbackPeerUid(const boost::asio::ip::tcp::endpoint& client,
                                   const boost::asio::ip::tcp::endpoint& server) {
  // A v4-mapped client of a v6 socket is in tcp6, written as the mapped address.
  const char* table = client.address().is_v4() ? "/proc/net/tcp" : "/proc/net/tcp6";
  return FindSocketUid(ReadFile(table), client, server);
}

std::string ClientKey(const boost::asio::ip::tcp::endpoint& client,
                      const boost::asio::ip::tcp::endpoint& server) {
  auto unmapped = [](const boost::asio::ip::address& a) {
    return a.is_v6() && a.to_v6().is_v4_mapped()
               ? boost::asio::ip::address(
                     boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6()))
               : a;
  };
  if (!unmapped(server.address()).is_loopback()) return unmapped(client.address()).to_string();
  const auto uid = LoopbackPeerUid(client, server);
  return uid ? "uid " + std::to_string(*uid) : "loopback, owner unknown";
}

}  // namespace mailwarden
