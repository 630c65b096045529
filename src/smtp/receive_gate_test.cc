#include "smtp/receive_gate.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mailwarden {
namespace {

namespace asio = boost::asio;

// Receivers of one gate: each takes a slot, notes it in got_, and keeps it in held_ until the
// test drops it.
class ReceiveGateTest : public ::testing::Test {
 protected:
  void MakeGate(std::size_t slots) { gate_.emplace(io_.get_executor(), slots); }

  void Receive(std::string name) { asio::co_spawn(io_, Take(std::move(name)), asio::detached); }

  // Runs every handler that is ready, and those they make ready; no waiting on the clock.
  void Settle() {
    io_.restart();
    io_.poll();
  }

  asio::io_context io_;
  std::optional<ReceiveGate> gate_;  // after io_: its waiters' timers go first
  std::vector<std::string> got_;
  std::vector<ReceiveGate::Slot> held_;

 private:
  asio::awaitable<void> Take(std::string name) {
    ReceiveGate::Slot slot = co_await gate_->Acquire();
    got_.push_back(std::move(name));
    held_.push_back(std::move(slot));
  }
};

TEST_F(ReceiveGateTest, GivesFreeSlotsAtOnce) {
  MakeGate(2);
  Receive("a");
  Receive("b");
  Settle();
  EXPECT_EQ(got_, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(gate_->in_use(), 2u);
  EXPECT_EQ(gate_->waits(), 0u);
  held_.clear();
  EXPECT_EQ(gate_->in_use(), 0u);
}

TEST_F(ReceiveGateTest, WaitersGetReleasedSlotsInArrivalOrder) {
  MakeGate(1);
  for (const char* name : {"a", "b", "c"}) Receive(name);
  Settle();
  ASSERT_EQ(got_, (std::vector<std::string>{"a"}));
  EXPECT_EQ(gate_->waiting(), 2u);
  EXPECT_EQ(gate_->waits(), 2u);

  held_.front().reset();  // a is done: its slot goes to b, not back to the pool
  EXPECT_EQ(gate_->in_use(), 1u);
  EXPECT_EQ(gate_->waiting(), 1u);
  // A newcomer does not overtake c, although a slot changes hands meanwhile.
  Receive("d");
  Settle();
  ASSERT_EQ(got_, (std::vector<std::string>{"a", "b"}));

  held_.back().reset();
  Settle();
  ASSERT_EQ(got_, (std::vector<std::string>{"a", "b", "c"}));
  held_.back().reset();
  Settle();
  ASSERT_EQ(got_, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(gate_->waiting(), 0u);
  held_.clear();
  EXPECT_EQ(gate_->in_use(), 0u);
}

TEST_F(ReceiveGateTest, AMovedSlotIsReleasedOnce) {
  MakeGate(3);
  Receive("a");
  Receive("b");
  Settle();
  ASSERT_EQ(gate_->in_use(), 2u);
  ReceiveGate::Slot moved = std::move(held_[0]);
  EXPECT_FALSE(held_[0]);
  held_.clear();
  EXPECT_EQ(gate_->in_use(), 1u);
  moved = ReceiveGate::Slot();
  EXPECT_EQ(gate_->in_use(), 0u);
}

TEST_F(ReceiveGateTest, ASlotMayOutliveItsGate) {
  MakeGate(1);
  Receive("a");
  Settle();
  ASSERT_TRUE(held_.at(0));
  gate_.reset();
  held_.clear();  // as a connection's coroutine destroyed with the io_context at exit
}

TEST_F(ReceiveGateTest, ABoundedWaitEndsEmptyAndLeavesTheLine) {
  MakeGate(1);
  Receive("a");
  Settle();
  ASSERT_EQ(got_, (std::vector<std::string>{"a"}));
  std::optional<bool> got_slot;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        ReceiveGate::Slot slot = co_await gate_->Acquire(std::chrono::milliseconds(20));
        got_slot = static_cast<bool>(slot);
      },
      asio::detached);
  Receive("b");  // waits behind the bounded waiter, without a bound of its own
  io_.restart();
  for (int i = 0; i < 200 && !got_slot; ++i) io_.run_one_for(std::chrono::milliseconds(10));
  ASSERT_EQ(got_slot, std::optional<bool>(false));
  EXPECT_EQ(gate_->waiting(), 1u);

  held_.front().reset();  // a's slot goes to b: the waiter that gave up is gone
  Settle();
  EXPECT_EQ(got_, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(gate_->in_use(), 1u);
  held_.clear();
  EXPECT_EQ(gate_->in_use(), 0u);
}

TEST_F(ReceiveGateTest, ABoundedWaitGetsASlotThatComesFreeInTime) {
  MakeGate(1);
  Receive("a");
  Settle();
  std::optional<bool> got_slot;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        ReceiveGate::Slot slot = co_await gate_->Acquire(std::chrono::hours(1));
        got_slot = static_cast<bool>(slot);
      },
      asio::detached);
  Settle();
  EXPECT_FALSE(got_slot);
  held_.clear();
  Settle();
  EXPECT_EQ(got_slot, std::optional<bool>(true));
  EXPECT_EQ(gate_->in_use(), 0u);  // the waiter's slot went with its coroutine
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
