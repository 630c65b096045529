// The uid of the local process at the other end of a loopback TCP connection, read from the
// kernel's socket tables (/proc/net/tcp and /proc/net/tcp6), as identd answers it.
//
// On a shared host every script connects from 127.0.0.1: the address names nobody. The owner
// of the client's socket, which the kernel records when the socket is made, names the local
// user, and no client can choose it. The SMTP listener keys its AUTH failure limit on it, so a
// user who tries passwords hurts only its own scripts, not those of the account it names; the
// SMTP and HTTP listeners count their connections per client by it (ClientKey).
//
// Trust: the tables are the kernel's; a connection from another network namespace is not in
// this one's tables (nor on this loopback). A socket passed to another process keeps the uid
// of the one that made it, as with identd.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/types.h"

namespace mailwarden {

// Pure: the uid of the socket in table (the text of /proc/net/tcp or tcp6) whose local end is
// client and whose remote end is server; nullopt if no line matches.
std::optional<Uid> FindSocketUid(std::string_view table,
                                 const boost::asio::ip::tcp::endpoint& client,
                                 const boost::asio::ip::tcp::endpoint& server);

// The uid owning the client's end of a connection that this process accepted at server;
// nullopt if the kernel's tables do not show it (the client is not local, or already gone).
std::optional<Uid> LoopbackPeerUid(const boost::asio::ip::tcp::endpoint& client,
                                   const boost::asio::ip::tcp::endpoint& server);

// Who a client is, for the limits per client of a listener that accepted it at server: the
// client's address ("192.0.2.7", a v4-mapped one unmapped); on loopback, where every script is
// 127.0.0.1, the local user owning the client's socket ("uid 1000"). A loopback client the
// tables do not show (gone already) shares one key with the others not shown, never a user's.
std::string ClientKey(const boost::asio::ip::tcp::endpoint& client,
                      const boost::asio::ip::tcp::endpoint& server);

}  // namespace mailwarden
