#include "smtp/receive_gate.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <string>
#include <vector>

namespace mailwarden {
namespace {

namespace asio = boost::asio;

// A receiver: takes a slot, notes it in `got`, and keeps it in `held` until the test drops it.
asio::awaitable<void> Take(ReceiveGate& gate, std::string name, std::vector<std::string>& got,
                           std::vector<ReceiveGate::Slot>& held) {
  ReceiveGate::Slot slot = co_await gate.Acquire();
  got.push_back(std::move(name));
  held.push_back(std::move(slot));
}

// Runs every handler that is ready, and those they make ready; no waiting on the clock.
void Settle(asio::io_context& io) {
  io.restart();
  io.poll();
}

TEST(ReceiveGate, GivesFreeSlotsAtOnce) {
  asio::io_context io;
  ReceiveGate gate(io.get_executor(), 2);
  std::vector<std::string> got;
  std::vector<ReceiveGate::Slot> held;
  asio::co_spawn(io, Take(gate, "a", got, held), asio::detached);
  asio::co_spawn(io, Take(gate, "b", got, held), asio::detached);
  io.run();
  EXPECT_EQ(got, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(gate.in_use(), 2u);
  EXPECT_EQ(gate.waits(), 0u);
  held.clear();
  EXPECT_EQ(gate.in_use(), 0u);
}

TEST(ReceiveGate, WaitersGetReleasedSlotsInArrivalOrder) {
  asio::io_context io;
  ReceiveGate gate(io.get_executor(), 1);
  std::vector<std::string> got;
  std::vector<ReceiveGate::Slot> held;
  for (const char* name : {"a", "b", "c"}) {
    asio::co_spawn(io, Take(gate, name, got, held), asio::detached);
  }
  Settle(io);
  ASSERT_EQ(got, (std::vector<std::string>{"a"}));
  EXPECT_EQ(gate.waiting(), 2u);
  EXPECT_EQ(gate.waits(), 2u);

  held.front().reset();  // a is done: its slot goes to b, not back to the pool
  EXPECT_EQ(gate.in_use(), 1u);
  EXPECT_EQ(gate.waiting(), 1u);
  // A newcomer does not overtake c, although a slot changes hands meanwhile.
  asio::co_spawn(io, Take(gate, "d", got, held), asio::detached);
  Settle(io);
  ASSERT_EQ(got, (std::vector<std::string>{"a", "b"}));

  held.back().reset();
  Settle(io);
  ASSERT_EQ(got, (std::vector<std::string>{"a", "b", "c"}));
  held.back().reset();
  Settle(io);
  ASSERT_EQ(got, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(gate.waiting(), 0u);
  held.clear();
  EXPECT_EQ(gate.in_use(), 0u);
}

TEST(ReceiveGate, AMovedSlotIsReleasedOnce) {
  asio::io_context io;
  ReceiveGate gate(io.get_executor(), 3);
  std::vector<std::string> got;
  std::vector<ReceiveGate::Slot> held;
  asio::co_spawn(io, Take(gate, "a", got, held), asio::detached);
  asio::co_spawn(io, Take(gate, "b", got, held), asio::detached);
  io.run();
  ASSERT_EQ(gate.in_use(), 2u);
  ReceiveGate::Slot moved = std::move(held[0]);
  EXPECT_FALSE(held[0]);
  held.clear();
  EXPECT_EQ(gate.in_use(), 1u);
  moved = ReceiveGate::Slot();
  EXPECT_EQ(gate.in_use(), 0u);
}

TEST(ReceiveGate, ASlotMayOutliveItsGate) {
  asio::io_context io;
  std::vector<std::string> got;
  std::vector<ReceiveGate::Slot> held;
  {
    ReceiveGate gate(io.get_executor(), 1);
    asio::co_spawn(io, Take(gate, "a", got, held), asio::detached);
    io.run();
    ASSERT_TRUE(held.at(0));
  }
  held.clear();  // as a connection's coroutine destroyed with the io_context at exit
}

TEST(ReceiveGate, SlotsForABudget) {
  struct Case {
    std::int64_t budget, message;
    std::size_t slots;
  };
  const Case cases[] = {
      {256 << 20, 25 << 20, 10},  // the defaults
      {8 << 20, 4 << 20, 2},
      {1 << 20, 25 << 20, 1},  // never fewer than one: a message at the limit must get in
      {1 << 20, 0, 1},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ReceiveGate::SlotsFor(c.budget, c.message), c.slots) << c.budget << " " << c.message;
  }
}

}  // namespace
}  // namespace mailwarden
