#include "smtp/loopback_peer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>

namespace mailwarden {
namespace {

using boost::asio::ip::make_address;
using boost::asio::ip::tcp;

// Lines as Linux writes them (the header shortened).
constexpr std::string_view kTcp =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
    "timeout inode\n"
    "   0: 0100007F:0A1B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
    "1001 1 0000000000000000 100 0 0 10 0\n"
    "   1: 0100007F:C350 0100007F:0A1B 01 00000000:00000000 00:00000000 00000000  4999        0 "
    "1002 1 0000000000000000 20 4 30 10 -1\n"
    "   2: 0100007F:0A1B 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 "
    "1003 1 0000000000000000 20 4 30 10 -1\n";

constexpr std::string_view kTcp6 =
    "  sl  local_address                         remote_address                        st "
    "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000000000000000000001000000:C351 00000000000000000000000001000000:0A1B 01 "
    "00000000:00000000 00:00000000 00000000  1000        0 2001 1 0000000000000000 20 4 0 10 "
    "-1\n";

TEST(LoopbackPeer, FindsTheOwnerOfTheClientsEnd) {
  const tcp::endpoint server(make_address("127.0.0.1"), 0x0A1B);
  EXPECT_EQ(FindSocketUid(kTcp, tcp::endpoint(make_address("127.0.0.1"), 0xC350), server),
            std::optional<Uid>(4999));
  // The server's own end of the same connection is not the client's.
  EXPECT_EQ(FindSocketUid(kTcp, tcp::endpoint(make_address("127.0.0.1"), 0xC351), server),
            std::nullopt);
  EXPECT_EQ(FindSocketUid(kTcp6, tcp::endpoint(make_address("::1"), 0xC351),
                          tcp::endpoint(make_address("::1"), 0x0A1B)),
            std::optional<Uid>(1000));
  EXPECT_EQ(FindSocketUid("", tcp::endpoint(make_address("::1"), 1), server), std::nullopt);
}

TEST(LoopbackPeer, ReadsTheKernelsTableForARealConnection) {
  boost::asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(make_address("127.0.0.1"), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket served = acceptor.accept();
  EXPECT_EQ(LoopbackPeerUid(served.remote_endpoint(), served.local_endpoint()),
            std::optional<Uid>(getuid()));
}

// The key of the limits per client: on loopback the socket's owner, never the shared address;
// elsewhere the address, v4-mapped ones unmapped.
TEST(LoopbackPeer, ClientKeyIsTheLocalUserOnLoopbackAndTheAddressElsewhere) {
  boost::asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(make_address("127.0.0.1"), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket served = acceptor.accept();
  EXPECT_EQ(ClientKey(served.remote_endpoint(), served.local_endpoint()),
            "uid " + std::to_string(getuid()));
  // A client already gone is not in the tables: one shared key, not a user's.
  EXPECT_EQ(ClientKey(tcp::endpoint(make_address("127.0.0.1"), 1), served.local_endpoint()),
            "loopback, owner unknown");
  const tcp::endpoint public_server(make_address("192.0.2.1"), 8025);
  EXPECT_EQ(ClientKey(tcp::endpoint(make_address("::ffff:198.51.100.7"), 40000),
                      tcp::endpoint(make_address("::ffff:192.0.2.1"), 8025)),
            "198.51.100.7");
  EXPECT_EQ(ClientKey(tcp::endpoint(make_address("2001:db8::7"), 40000), public_server),
            "2001:db8::7");
}

}  // namespace
}  // namespace mailwarden
