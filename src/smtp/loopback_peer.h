// The uid of the local process at the other end of a TCP connection this process accepted,
// asked of the kernel through NETLINK_SOCK_DIAG (inet_diag, as `ss -e` shows it): one exact
// lookup of the client's socket by its four-tuple, reading the owner the kernel recorded when
// the socket was made.
//
// On a shared host every script connects from 127.0.0.1: the address names nobody. The owner
// of the client's socket, which the kernel records when the socket is made, names the local
// user, and no client can choose it. The SMTP listener keys its AUTH failure limit on it, so a
// user who tries passwords hurts only its own scripts, not those of the account it names; the
// SMTP and HTTP listeners count their connections per client by it (ClientKey), and the local
// listener (smtp.local_listen) attributes the mail to that user's account.
//
// A connection redirected by the firewall (nftables "redirect", see docs/bypass.md) reached us
// at another address than the one the client dialled; the client's socket is found by the
// original destination, which conntrack keeps (SO_ORIGINAL_DST).
//
// Trust: the answer is the kernel's; a client in another network namespace or on another host
// has no socket in this namespace's tables, and gets no uid. A socket passed to another
// process keeps the uid of the one that made it, as with identd.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/types.h"

namespace mailwarden {

// An IPv4 address given as IPv6 (::ffff:a.b.c.d, as a dual-stack listener sees it) as the IPv4
// address it is; any other address as it is.
boost::asio::ip::address Unmapped(const boost::asio::ip::address& a);

// The uid owning the TCP socket whose local end is client and whose remote end is server, in
// this network namespace; nullopt if there is none (or the kernel cannot be asked). Any thread;
// one netlink round trip, no privilege needed.
std::optional<Uid> SocketOwnerUid(const boost::asio::ip::tcp::endpoint& client,
                                  const boost::asio::ip::tcp::endpoint& server);

// The uid owning the client's end of accepted, a connection this process accepted (by the
// address the client dialled if a redirect changed it); nullopt if the client is not local or
// already gone.
std::optional<Uid> LoopbackPeerUid(boost::asio::ip::tcp::socket& accepted);

// Who a client is, for the limits per client of a listener that accepted it at server: the
// client's address ("192.0.2.7", a v4-mapped one unmapped); on loopback, where every script is
// 127.0.0.1, the local user owning the client's socket ("uid 1000"). A loopback client the
// tables do not show (gone already) shares one key with the others not shown, never a user's.
std::string ClientKey(const boost::asio::ip::tcp::endpoint& client,
                      const boost::asio::ip::tcp::endpoint& server);

}  // namespace mailwarden
