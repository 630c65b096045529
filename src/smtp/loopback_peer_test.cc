#include "smtp/loopback_peer.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

namespace mailwarden {
namespace {

using boost::asio::ip::make_address;
using boost::asio::ip::tcp;

TEST(LoopbackPeer, NamesTheOwnerOfTheClientsSocket) {
  for (const char* address : {"127.0.0.1", "::1"}) {
    SCOPED_TRACE(address);
    boost::asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(make_address(address), 0));
    tcp::socket client(io);
    client.connect(acceptor.local_endpoint());
    tcp::socket served = acceptor.accept();
    EXPECT_EQ(LoopbackPeerUid(served), std::optional<Uid>(getuid()));
    // The same four-tuple asked directly; the server's own end is not the client's.
    EXPECT_EQ(SocketOwnerUid(client.local_endpoint(), client.remote_endpoint()),
              std::optional<Uid>(getuid()));
  }
}

TEST(LoopbackPeer, NamesNobodyForASocketThatIsNotThere) {
  boost::asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(make_address("127.0.0.1"), 0));
  // Nothing connects from port 1 to the listener.
  EXPECT_EQ(SocketOwnerUid(tcp::endpoint(make_address("127.0.0.1"), 1), acceptor.local_endpoint()),
            std::nullopt);
}

TEST(LoopbackPeer, NamesAnotherUsersSocketByItsUid) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to connect as another uid";
  constexpr Uid kOther = 64123;
  boost::asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(make_address("127.0.0.1"), 0));
  const auto port = acceptor.local_endpoint().port();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (setuid(kOther) != 0) _exit(2);
    boost::asio::io_context child_io;
    tcp::socket client(child_io);
    client.connect(tcp::endpoint(make_address("127.0.0.1"), port));
    char byte;
    boost::system::error_code ec;
    client.read_some(boost::asio::buffer(&byte, 1), ec);  // until the parent closes
    _exit(0);
  }
  tcp::socket served = acceptor.accept();
  EXPECT_EQ(LoopbackPeerUid(served), std::optional<Uid>(kOther));
  served.close();
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
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
