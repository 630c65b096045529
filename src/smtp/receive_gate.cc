#include "smtp/receive_gate.h"

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

namespace mailwarden {
namespace asio = boost::asio;

ReceiveGate::Slot& ReceiveGate::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    reset();
    state_ = std::move(other.state_);
    held_ = std::exchange(other.held_, false);
  }
  return *this;
}

void ReceiveGate::Slot::reset() {
  if (!std::exchange(held_, false)) return;
  if (auto state = state_.lock()) state->Release();
  state_.reset();
}

ReceiveGate::ReceiveGate(asio::any_io_executor ex, std::size_t slots)
    : ex_(std::move(ex)), state_(std::make_shared<State>()) {
  state_->slots = std::max<std::size_t>(slots, 1);
}

std::size_t ReceiveGate::SlotsFor(std::int64_t max_receiving_bytes,
                                  std::int64_t max_message_bytes) {
  if (max_message_bytes <= 0) return 1;
  return static_cast<std::size_t>(
      std::max<std::int64_t>(max_receiving_bytes / max_message_bytes, 1));
}

asio::awaitable<ReceiveGate::Slot> ReceiveGate::Acquire() {
  return AcquireBy(std::chrono::steady_clock::time_point::max());
}

asio::awaitable<ReceiveGate::Slot> ReceiveGate::Acquire(
    std::chrono::steady_clock::duration max_wait) {
  return AcquireBy(std::chrono::steady_clock::now() + max_wait);
}

asio::awaitable<ReceiveGate::Slot> ReceiveGate::AcquireBy(
    std::chrono::steady_clock::time_point deadline) {
  // Held while waiting: at exit the gate may be destroyed before this coroutine is.
  const std::shared_ptr<State> keep = state_;
  State& state = *keep;
  // Nobody overtakes a waiter: a free slot with waiters present is already theirs.
  if (state.in_use < state.slots && state.waiters.empty()) {
    ++state.in_use;
    co_return Slot(keep);
  }
  ++state.waits;
  if (state.on_wait) state.on_wait();
  auto waiter = std::make_shared<Waiter>(ex_);
  waiter->timer.expires_at(deadline);
  state.waiters.push_back(waiter);
  while (!waiter->granted) {
    boost::system::error_code ec;
    co_await waiter->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    // A grant cancels the timer, but its expiry may have been queued first: granted decides.
    if (!waiter->granted && std::chrono::steady_clock::now() >= deadline) {
      std::erase(state.waiters, waiter);
      co_return Slot();
    }
  }
  co_return Slot(keep);
}

void ReceiveGate::State::Release() {
  if (waiters.empty()) {
    --in_use;
    return;
  }
  // The slot passes straight to the longest waiter: in_use does not change.
  std::shared_ptr<Waiter> next = std::move(waiters.front());
  waiters.pop_front();
  next->granted = true;
  next->timer.cancel();
}

}  // namespace mailwarden
