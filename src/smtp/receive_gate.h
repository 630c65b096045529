// Bounds the memory that messages take while they are received, over the drop-in and SMTP
// together. A message is held in memory until it is stored, so without a bound a few hundred
// scripts sending large mail at once, or one hacked site opening many connections, could take
// all of the server's memory.
//
// Every message may hold kSmallMessageBytes without asking: the common script mail (a few
// KB) never waits. Past that, a message needs one of a fixed number of large slots before
// more of it is read; the slot is held until the message is stored or refused. While a
// message waits for a slot nothing more of it is read, so its sender waits in its write
// (backpressure) and nothing is refused. A message that has a slot never waits again, so
// every slot comes free and the waiters are served in arrival order.
//
// Memory for mail being received is then at most about
//   connections * kSmallMessageBytes + slots * max_message_bytes.
// A message that takes a slot gets room for the largest message at once (LargeMessageRoom),
// so it never grows by copying, and it is prepared in that same room (PrepareMessage): it is
// held once, never twice.
//
// The same gate, with one slot per connection, bounds the drop-in's connections.
//
// Single-threaded: the gate and every Slot belong to the executor of the receiving loop. A
// Slot may outlive its gate (a connection's coroutine destroyed with the io_context at exit):
// releasing it then does nothing.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <utility>

namespace mailwarden {

// What a message may hold before it needs a large slot.
inline constexpr std::size_t kSmallMessageBytes = 256 * 1024;

// The room to reserve for a message when it takes a large slot: the largest message, and what
// preparing it adds (a Received line, missing Date, Message-ID and From, the CRs of bare LFs
// in ordinary text). Room never written costs address space, not memory.
constexpr std::size_t LargeMessageRoom(std::size_t max_message_bytes) {
  return max_message_bytes + max_message_bytes / 32 + 4096;
}

class ReceiveGate {
  struct State;

 public:
  // One large slot, released when destroyed or reset (then handed to the first waiter).
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& other) noexcept
        : state_(std::move(other.state_)), held_(std::exchange(other.held_, false)) {}
    Slot& operator=(Slot&& other) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { reset(); }

    explicit operator bool() const { return held_; }
    void reset();

   private:
    friend class ReceiveGate;
    explicit Slot(std::weak_ptr<State> state) : state_(std::move(state)), held_(true) {}
    std::weak_ptr<State> state_;
    bool held_ = false;
  };

  // slots: how many messages over kSmallMessageBytes are received at once (at least 1).
  ReceiveGate(boost::asio::any_io_executor ex, std::size_t slots);
  ReceiveGate(const ReceiveGate&) = delete;
  ReceiveGate& operator=(const ReceiveGate&) = delete;

  // The slots for a memory budget: how many messages of max_message_bytes fit in
  // max_receiving_bytes, at least one.
  static std::size_t SlotsFor(std::int64_t max_receiving_bytes, std::int64_t max_message_bytes);

  // A slot: at once when one is free and nobody waits before us, else when one comes free
  // (then on_wait, if set, is called first: for the metrics).
  boost::asio::awaitable<Slot> Acquire();
  // The same, waiting at most max_wait: an empty Slot if none came free by then (the waiter
  // leaves the line; nobody is granted a slot it no longer waits for).
  boost::asio::awaitable<Slot> Acquire(std::chrono::steady_clock::duration max_wait);
  void SetWaitHook(std::function<void()> on_wait) { state_->on_wait = std::move(on_wait); }

  std::size_t slots() const { return state_->slots; }
  std::size_t in_use() const { return state_->in_use; }
  std::size_t waiting() const { return state_->waiters.size(); }
  // Times a message had to wait for a slot, since start.
  std::uint64_t waits() const { return state_->waits; }

 private:
  boost::asio::awaitable<Slot> AcquireBy(std::chrono::steady_clock::time_point deadline);

  // A waiter is woken by cancelling its timer; `granted` says the slot is already its own.
  struct Waiter {
    explicit Waiter(const boost::asio::any_io_executor& ex) : timer(ex) {}
    boost::asio::steady_timer timer;
    bool granted = false;
  };
  struct State {
    std::size_t slots = 1;
    std::size_t in_use = 0;
    std::uint64_t waits = 0;
    std::function<void()> on_wait;
    std::deque<std::shared_ptr<Waiter>> waiters;
    void Release();
  };

  boost::asio::any_io_executor ex_;
  std::shared_ptr<State> state_;
};

}  // namespace mailwarden
