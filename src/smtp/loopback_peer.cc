#include "smtp/loopback_peer.h"

#include <linux/inet_diag.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstring>

namespace mailwarden {
namespace {

namespace ip = boost::asio::ip;

// <linux/netfilter_ipv6/ip6_tables.h> cannot be included beside <netinet/in.h>.
constexpr int kIp6OriginalDst = 80;  // IP6T_SO_ORIGINAL_DST

constexpr auto kAllStates = ~0u;

// The address in inet_diag's form: four 32-bit words in network order, v4 in the first.
void PutAddress(const ip::address& address, __be32 out[4]) {
  std::memset(out, 0, 4 * sizeof(__be32));
  if (address.is_v4()) {
    const auto bytes = address.to_v4().to_bytes();
    std::memcpy(out, bytes.data(), bytes.size());
  } else {
    const auto bytes = address.to_v6().to_bytes();
    std::memcpy(out, bytes.data(), bytes.size());
  }
}

std::optional<Uid> Lookup(int family, const ip::tcp::endpoint& client,
                          const ip::tcp::endpoint& server) {
  const int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return std::nullopt;
  struct {
    nlmsghdr header;
    inet_diag_req_v2 request;
  } message{};
  message.header.nlmsg_len = sizeof(message);
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  // Without NLM_F_DUMP: the one socket with this exact four-tuple, not a walk of the table.
  message.header.nlmsg_flags = NLM_F_REQUEST;
  message.request.sdiag_family = static_cast<__u8>(family);
  message.request.sdiag_protocol = IPPROTO_TCP;
  message.request.idiag_states = kAllStates;
  message.request.id.idiag_sport = htons(client.port());
  message.request.id.idiag_dport = htons(server.port());
  PutAddress(client.address(), message.request.id.idiag_src);
  PutAddress(server.address(), message.request.id.idiag_dst);
  message.request.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  message.request.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  std::optional<Uid> uid;
  if (sendto(fd, &message, sizeof(message), 0, reinterpret_cast<const sockaddr*>(&kernel),
             sizeof(kernel)) == static_cast<ssize_t>(sizeof(message))) {
    alignas(nlmsghdr) std::array<char, 8192> buffer;
    const ssize_t n = recv(fd, buffer.data(), buffer.size(), 0);
    if (n > 0) {
      const auto* reply = reinterpret_cast<const nlmsghdr*>(buffer.data());
      int left = static_cast<int>(n);
      // NLMSG_ERROR (ENOENT) when there is no such socket.
      if (NLMSG_OK(reply, left) && reply->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
          reply->nlmsg_len >= NLMSG_LENGTH(sizeof(inet_diag_msg))) {
        const auto* diag = static_cast<const inet_diag_msg*>(NLMSG_DATA(reply));
        uid = diag->idiag_uid;
      }
    }
  }
  close(fd);
  return uid;
}

// Where the client meant to connect, if a NAT rule (redirect) sent it here instead.
std::optional<ip::tcp::endpoint> OriginalDestination(ip::tcp::socket& accepted,
                                                     const ip::tcp::endpoint& local) {
  const int fd = accepted.native_handle();
  if (local.address().is_v4() || local.address().to_v6().is_v4_mapped()) {
    sockaddr_in original{};
    socklen_t size = sizeof(original);
    if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &original, &size) != 0) return std::nullopt;
    std::array<unsigned char, 4> bytes;
    std::memcpy(bytes.data(), &original.sin_addr, bytes.size());
    return ip::tcp::endpoint(ip::address_v4(bytes), ntohs(original.sin_port));
  }
  sockaddr_in6 original{};
  socklen_t size = sizeof(original);
  if (getsockopt(fd, SOL_IPV6, kIp6OriginalDst, &original, &size) != 0) return std::nullopt;
  std::array<unsigned char, 16> bytes;
  std::memcpy(bytes.data(), &original.sin6_addr, bytes.size());
  return ip::tcp::endpoint(ip::address_v6(bytes), ntohs(original.sin6_port));
}

}  // namespace

ip::address Unmapped(const ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, a.to_v6());
  return a;
}

std::optional<Uid> SocketOwnerUid(const ip::tcp::endpoint& client,
                                  const ip::tcp::endpoint& server) {
  const ip::address client_address = Unmapped(client.address());
  const ip::address server_address = Unmapped(server.address());
  if (client_address.is_v4() && server_address.is_v4()) {
    // An IPv4 client of a dual-stack listener: its own socket is AF_INET.
    auto uid = Lookup(AF_INET, ip::tcp::endpoint(client_address, client.port()),
                      ip::tcp::endpoint(server_address, server.port()));
    if (uid || client.address().is_v4()) return uid;
  }
  if (client.address().is_v6() && server.address().is_v6()) {
    return Lookup(AF_INET6, client, server);
  }
  return std::nullopt;
}

std::optional<Uid> LoopbackPeerUid(ip::tcp::socket& accepted) {
  boost::system::error_code ec;
  const auto client = accepted.remote_endpoint(ec);
  if (ec) return std::nullopt;
  const auto local = accepted.local_endpoint(ec);
  if (ec) return std::nullopt;
  // Without a conntrack entry (no NAT rule applied) the call fails and the client dialled us.
  const auto server = OriginalDestination(accepted, local).value_or(local);
  return SocketOwnerUid(client, server);
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
  const auto uid = SocketOwnerUid(client, server);
  return uid ? "uid " + std::to_string(*uid) : "loopback, owner unknown";
}

}  // namespace mailwarden
